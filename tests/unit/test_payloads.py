import pytest

from app.domain.errors import PayloadInvalid
from app.domain.job_types import CATALOGUE, validate_payload
from app.domain.payload_rules import field_rules
from app.domain.payloads import Payload, json_pointer

PAYMENT = {
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 1500,
    "currency": "USD",
    "paymentMethodId": "pm_card_visa",
}
EMAIL = {"to": "someone@example.com", "template": "ticket-receipt"}
SMS = {"to": "+14155550100", "message": "Your tickets are ready"}
NFT = {
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "walletAddress": "0xabc123",
}
WEBHOOK = {
    "url": "https://hooks.example.com/events",
    "eventId": "evt_1",
    "event": "ticket.sold",
    "payload": {"ticket": 1},
}


def _model(job_type: str) -> type[Payload]:
    model = CATALOGUE[job_type].payload
    assert model is not None
    return model


def pointers(excinfo: pytest.ExceptionInfo[PayloadInvalid]) -> list[str]:
    return [error["pointer"] for error in excinfo.value.errors]


def test_payload_models_cover_the_job_types_and_alert_delivery():
    with_models = {
        name for name, entry in CATALOGUE.items() if entry.payload is not None
    }
    assert with_models == {
        "payment-process",
        "refund-process",
        "payout-process",
        "nft-mint",
        "send-email",
        "send-sms",
        "send-push",
        "webhook-deliver",
        "analytics-track",
        "cleanup-old-data",
        "generate-report",
        "deliver-alert",
        "stripe-event",
    }


def test_validate_payload_accepts_valid_payment():
    validate_payload("payment-process", PAYMENT)


def test_validate_payload_keeps_unknown_fields_allowed():
    validate_payload("payment-process", {**PAYMENT, "legacyField": 1})


@pytest.mark.parametrize("amount", [0, 1_000_001, 10.5, "lots"])
def test_validate_payload_rejects_bad_payment_amount(amount):
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", {**PAYMENT, "amount": amount})
    assert pointers(excinfo) == ["/data/amount"]


def test_validate_payload_accepts_payment_amount_at_maximum():
    validate_payload("payment-process", {**PAYMENT, "amount": 1_000_000})


def test_validate_payload_accepts_lowercase_currency():
    validate_payload("payment-process", {**PAYMENT, "currency": "usd"})


def test_validate_payload_rejects_unknown_currency():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", {**PAYMENT, "currency": "XXY"})
    assert pointers(excinfo) == ["/data/currency"]


def test_validate_payload_rejects_non_uuid_user_id():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", {**PAYMENT, "userId": "user-42"})
    assert pointers(excinfo) == ["/data/userId"]


def test_validate_payload_reports_every_missing_field():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", {"amount": 100})
    # No currency: the old service's default, USD.
    assert sorted(pointers(excinfo)) == [
        "/data/eventId",
        "/data/paymentMethodId",
        "/data/userId",
        "/data/venueId",
    ]


def test_validate_payload_uses_custom_pointer_prefix():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload(
            "payment-process", {**PAYMENT, "amount": 0}, pointer_prefix="/jobs/3/data"
        )
    assert pointers(excinfo) == ["/jobs/3/data/amount"]
    assert "/jobs/3/data/amount" in excinfo.value.detail


def test_validate_payload_error_has_detail_per_field():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", {**PAYMENT, "amount": 0})
    [error] = excinfo.value.errors
    assert set(error) == {"detail", "pointer"}
    assert error["detail"]
    assert excinfo.value.status == 422
    assert excinfo.value.slug == "invalid-job-data"


def test_validate_payload_rejects_bad_email_address():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("send-email", {**EMAIL, "to": "not-an-address"})
    assert pointers(excinfo) == ["/data/to"]


def test_validate_payload_accepts_email_with_template():
    validate_payload("send-email", EMAIL)


def test_validate_payload_accepts_email_with_subject_and_content():
    validate_payload(
        "send-email", {"to": "someone@example.com", "subject": "Hi", "content": "Hello"}
    )


def test_validate_payload_rejects_email_with_only_subject():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("send-email", {"to": "someone@example.com", "subject": "Hi"})
    # A model-level error points at the data object itself.
    assert pointers(excinfo) == ["/data"]


def test_validate_payload_accepts_e164_sms_number():
    validate_payload("send-sms", SMS)


def test_validate_payload_rejects_sms_number_without_plus():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("send-sms", {**SMS, "to": "4155550100"})
    assert pointers(excinfo) == ["/data/to"]


def test_validate_payload_rejects_nft_mint_without_seat_or_ticket():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("nft-mint", NFT)
    assert pointers(excinfo) == ["/data"]


@pytest.mark.parametrize(
    "extra",
    [{"seatId": "A-12"}, {"ticketId": "5d0c1a7e-2b8f-4c3d-9e6a-1f2b3c4d5e6f"}],
)
def test_validate_payload_accepts_nft_mint_with_seat_or_ticket(extra):
    validate_payload("nft-mint", {**NFT, **extra})


def test_validate_payload_accepts_https_webhook_url():
    validate_payload("webhook-deliver", WEBHOOK)


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/events", "not a url"])
def test_validate_payload_rejects_non_http_webhook_url(url):
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("webhook-deliver", {**WEBHOOK, "url": url})
    assert pointers(excinfo) == ["/data/url"]


def test_validate_payload_skips_unknown_job_type():
    assert "custom-type" not in CATALOGUE
    validate_payload("custom-type", {"anything": object()})
    validate_payload("custom-type", ["not", "a", "dict"])


@pytest.mark.parametrize("data", [["amount", 1], "text", None, 42])
def test_validate_payload_rejects_non_object_data(data):
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", data)
    assert pointers(excinfo) == ["/data"]


def test_validate_payload_non_object_data_uses_custom_pointer_prefix():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("send-sms", "hello", pointer_prefix="/jobs/3/data")
    assert pointers(excinfo) == ["/jobs/3/data"]


def test_json_pointer_escapes_tilde_and_slash():
    assert json_pointer(("a/b", "m~n", 0), "/data") == "/data/a~1b/m~0n/0"


def test_json_pointer_escapes_tilde_before_slash():
    # "~1" in a key must become "~01", not be read back as "/".
    assert json_pointer(("~1",)) == "/~01"


def test_json_pointer_of_empty_location_is_prefix():
    assert json_pointer((), "/data") == "/data"


@pytest.mark.parametrize("amount", ["1500", 1500.0, True])
def test_validate_payload_amount_is_not_coerced(amount):
    data = {
        "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
        "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
        "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
        "amount": amount,
        "currency": "USD",
        "paymentMethodId": "pm_1",
    }
    with pytest.raises(PayloadInvalid) as caught:
        validate_payload("payment-process", data)
    assert [e["pointer"] for e in caught.value.errors] == ["/data/amount"]


def test_payload_fields_are_read_by_their_camel_case_keys():
    payment = _model("payment-process").model_validate(PAYMENT)
    assert str(payment.user_id) == PAYMENT["userId"]
    assert payment.payment_method_id == "pm_card_visa"
    assert payment.model_extra == {}


def test_payload_snake_case_key_is_an_unknown_key_not_a_field():
    given = {**PAYMENT, "user_id": PAYMENT["userId"]}
    del given["userId"]
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payment-process", given)
    assert pointers(excinfo) == ["/data/userId"]
    refund = _model("refund-process").model_validate(
        {"transactionId": "pi_1", "user_id": "kept"}
    )
    assert refund.user_id is None
    assert refund.model_extra == {"user_id": "kept"}


def test_payload_dumps_the_callers_keys_with_unknown_ones_kept():
    given = {**NFT, "seatId": "A-12", "callbackUrl": "https://hooks.example.com/x"}
    mint = _model("nft-mint").model_validate({**given, "legacyField": 1})
    assert mint.model_dump(mode="json", by_alias=True, exclude_none=True) == {
        **given,
        "legacyField": 1,
    }


OLD_PAYMENT = {
    key: value
    for key, value in PAYMENT.items()
    if key not in ("currency", "paymentMethodId")
} | {"paymentMethod": "pm_old"}
PAYOUT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "payoutId": "7e9a1c3e-5b7d-4f9a-8c2e-4a6c8e0a2b05",
    "amount": 250000,
}


@pytest.mark.parametrize(
    ("job_type", "data", "attribute", "expected"),
    [
        ("payment-process", OLD_PAYMENT, "payment_method_id", "pm_old"),
        ("payment-process", OLD_PAYMENT, "currency", "USD"),
        ("payout-process", {**PAYOUT, "type": "instant"}, "method", "instant"),
        ("payout-process", PAYOUT, "currency", "USD"),
        (
            "analytics-track",
            {"eventType": "x", "data": {"seat": "A-1"}},
            "properties",
            {"seat": "A-1"},
        ),
        ("cleanup-old-data", {"dataType": "reports"}, "target", "reports"),
    ],
)
def test_the_old_services_names_and_defaults_are_read_as_ours(
    job_type, data, attribute, expected
):
    validate_payload(job_type, data)
    assert getattr(_model(job_type).model_validate(data), attribute) == expected


def test_a_reports_old_start_and_end_dates_are_its_period():
    data = {"reportType": "jobs", "startDate": "2025-01-01", "endDate": "2025-02-01"}

    validate_payload("generate-report", data)
    report = _model("generate-report").model_validate(data)

    assert (report.period_start.isoformat(), report.period_end.isoformat()) == (
        "2025-01-01T00:00:00",
        "2025-02-01T00:00:00",
    )


def test_the_new_name_wins_when_both_are_sent():
    both = {**OLD_PAYMENT, "paymentMethodId": "pm_new"}

    payment = _model("payment-process").model_validate(both)

    assert payment.payment_method_id == "pm_new"
    assert payment.model_extra == {"paymentMethod": "pm_old"}


def test_a_bad_value_under_an_old_name_points_at_the_old_key():
    with pytest.raises(PayloadInvalid) as excinfo:
        validate_payload("payout-process", {**PAYOUT, "type": "express"})

    assert pointers(excinfo) == ["/data/type"]


def test_the_database_rules_read_the_old_names_too():
    rules = {rule.field: rule for rule in field_rules(_model("payment-process"))}

    assert rules["paymentMethodId"].aliases == ("paymentMethod",)
    assert rules["paymentMethodId"].required is True
    assert rules["currency"].required is False
