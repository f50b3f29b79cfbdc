"""The payload models: what they take, what they send, and that they match the service's."""

import uuid
from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from app.domain import formats, job_types
from app.domain import payloads as service_payloads
from queue_service_client import (
    NOT_EXPOSED,
    PAYLOAD_MODELS,
    AnalyticsTrack,
    GenerateReport,
    NftMint,
    PaymentProcess,
    SendEmail,
    SendSms,
)
from queue_service_client import payloads as client_payloads

pytestmark = pytest.mark.unit

# The types the service ships; job types of plugins (when a test of the run
# has loaded some) are the operators' own, which the generic enqueue serves.
CATALOGUE = getattr(job_types, "BUILT_IN", job_types.CATALOGUE)

VENUE = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e01")
USER = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e02")
EVENT = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e03")


def payment(**changes: object) -> PaymentProcess:
    fields: dict[str, object] = {
        "venue_id": VENUE,
        "user_id": USER,
        "event_id": EVENT,
        "amount": 1500,
        "payment_method_id": "pm_1",
    }
    return PaymentProcess(**{**fields, **changes})


def test_payload_to_data_uses_the_wire_keys_and_drops_nulls():
    assert payment(description=None).to_data() == {
        "venueId": str(VENUE),
        "userId": str(USER),
        "eventId": str(EVENT),
        "amount": 1500,
        "currency": "USD",
        "paymentMethodId": "pm_1",
    }


def test_payload_reads_wire_keys_too():
    data = payment().to_data()
    assert PaymentProcess.model_validate(data) == payment()


def test_payload_refuses_an_amount_given_as_text():
    with pytest.raises(ValidationError, match="amount"):
        payment(amount="1500")


def test_payload_refuses_a_uuid_that_is_not_hyphenated():
    with pytest.raises(ValidationError, match="hyphenated"):
        payment(user_id="{" + str(USER) + "}")


def test_payload_refuses_unknown_keys():
    with pytest.raises(ValidationError, match="amout"):
        PaymentProcess.model_validate({**payment().to_data(), "amout": 1})


def test_payload_is_frozen():
    with pytest.raises(ValidationError):
        payment().amount = 1  # type: ignore[misc]


def test_payload_one_of_groups_are_required():
    with pytest.raises(ValidationError, match="seatId or ticketId is required"):
        NftMint(event_id=EVENT, user_id=USER, wallet_address="0xabc")
    with pytest.raises(ValidationError, match="template or subject and content"):
        SendEmail(to="a@example.com", subject="Hello")
    assert SendEmail(to="a@example.com", subject="Hi", content="Hello").to_data() == {
        "to": "a@example.com",
        "subject": "Hi",
        "content": "Hello",
    }


def test_payload_formats_are_checked():
    with pytest.raises(ValidationError, match="to"):
        SendSms(to="5551234", message="hi")
    with pytest.raises(ValidationError, match="to"):
        SendEmail(to="not an address", template="welcome")
    with pytest.raises(ValidationError, match=r"callbackUrl|callback_url"):
        SendSms(to="+15551234567", message="hi", callback_url="ftp://example.com/x")


def test_payload_times_go_as_iso_8601():
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert AnalyticsTrack(event_type="seen", timestamp=at).to_data() == {
        "eventType": "seen",
        "timestamp": "2026-01-02T03:04:05Z",
    }
    report = GenerateReport(report_type="jobs", period_start=date(2026, 1, 1))
    assert report.to_data()["periodStart"] == "2026-01-01"
    with pytest.raises(ValidationError):
        AnalyticsTrack(event_type="seen", timestamp=datetime(2026, 1, 2))  # noqa: DTZ001


def test_payload_currency_is_read_in_capitals():
    assert payment(currency="eur").currency == "EUR"


# Drift: the client's models against the service's.


def _fields(model: type) -> tuple[set[str], set[str]]:
    schema = model.model_json_schema()  # type: ignore[attr-defined]
    return set(schema["properties"]), set(schema.get("required", ()))


@pytest.mark.parametrize("job_type", sorted(PAYLOAD_MODELS))
def test_drift_client_model_has_the_service_models_fields(job_type):
    service = CATALOGUE[job_type].payload
    assert service is not None, f"{job_type} has no model in the service"
    client_fields, client_required = _fields(PAYLOAD_MODELS[job_type])
    service_fields, service_required = _fields(service)
    assert client_fields == service_fields, (
        f"{job_type}: only in the client {client_fields - service_fields}, "
        f"only in the service {service_fields - client_fields}"
    )
    assert client_required == service_required, job_type


@pytest.mark.parametrize("job_type", sorted(PAYLOAD_MODELS))
def test_drift_client_model_names_the_service_queue(job_type):
    assert PAYLOAD_MODELS[job_type].QUEUE == CATALOGUE[job_type].queue
    assert PAYLOAD_MODELS[job_type].JOB_TYPE == job_type


@pytest.mark.parametrize("job_type", sorted(PAYLOAD_MODELS))
def test_drift_client_model_has_the_service_models_one_of(job_type):
    service = CATALOGUE[job_type].payload
    assert PAYLOAD_MODELS[job_type].ONE_OF == service.ONE_OF  # type: ignore[union-attr]


def test_drift_every_enqueueable_job_type_has_a_client_model():
    # A type some role may enqueue over HTTP needs a model; a type no caller
    # may enqueue is listed as not exposed, with its reason.
    for name, job_type in CATALOGUE.items():
        if job_type.enqueue_roles:
            assert name in PAYLOAD_MODELS, f"{name} may be enqueued but has no model"
        else:
            assert name in NOT_EXPOSED or name in PAYLOAD_MODELS, name
    assert set(NOT_EXPOSED) <= set(CATALOGUE), set(NOT_EXPOSED) - set(CATALOGUE)
    assert not set(NOT_EXPOSED) & set(PAYLOAD_MODELS)
    assert all(reason for reason in NOT_EXPOSED.values())


def test_drift_not_exposed_types_are_ones_no_caller_may_enqueue():
    for name in NOT_EXPOSED:
        assert not CATALOGUE[name].enqueue_roles, name


def test_drift_formats_are_the_services():
    assert client_payloads.UUID_PATTERN == formats.UUID
    assert client_payloads.EMAIL_PATTERN == formats.EMAIL
    assert client_payloads.EMAIL_MAX_LENGTH == formats.EMAIL_MAX_LENGTH
    assert client_payloads.HTTP_URL_PATTERN == formats.HTTP_URL
    assert client_payloads.HTTP_URL_MAX_LENGTH == formats.HTTP_URL_MAX_LENGTH


@pytest.mark.parametrize("job_type", sorted(PAYLOAD_MODELS))
def test_drift_the_service_takes_what_the_client_builds(job_type):
    # One valid payload per type, built with the client, passes the service's model.
    data = EXAMPLES[job_type].to_data()
    CATALOGUE[job_type].payload.model_validate(data)  # type: ignore[union-attr]


EXAMPLES = {
    "payment-process": payment(),
    "refund-process": client_payloads.RefundProcess(transaction_id="ch_1", amount=100),
    "payout-process": client_payloads.PayoutProcess(
        venue_id=VENUE, payout_id=USER, amount=100, method="instant"
    ),
    "nft-mint": NftMint(
        event_id=EVENT, user_id=USER, wallet_address="0x1", seat_id="A1"
    ),
    "send-email": SendEmail(to="a@example.com", template="welcome", data={"n": 1}),
    "send-sms": SendSms(to="+15551234567", message="hi"),
    "send-push": client_payloads.SendPush(user_id=USER, title="t", body="b"),
    "webhook-deliver": client_payloads.WebhookDeliver(
        url="https://example.com/hook", event_id="evt-1", event="order.paid", payload={}
    ),
    "analytics-track": AnalyticsTrack(
        event_type="seen", timestamp=datetime(2026, 1, 1, tzinfo=UTC)
    ),
    "cleanup-old-data": client_payloads.CleanupOldData(older_than_days=30),
    "generate-report": GenerateReport(
        report_type="jobs", queue="money", period_end=date(2026, 1, 1)
    ),
}


def test_examples_cover_every_model():
    assert set(EXAMPLES) == set(PAYLOAD_MODELS)
    assert service_payloads.Payload is not None
