"""The provider clients, through their real SDKs, against the local fakes."""

import base64
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from app.domain.errors import (
    PermanentTaskError,
    ProviderNotConfigured,
    RetryableTaskError,
)
from app.settings import ProviderSettings
from tests.fakes.fixtures import (
    SENDER,
    TWILIO_NUMBER,
    WEBHOOK_SECRET,
    settings_for_fakes,
)
from tests.fakes.http_services import FakeMinting, FakePush, FakeWebhookReceiver
from tests.fakes.process import fake_process
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.stripe import FakeStripe
from tests.fakes.twilio import FakeTwilio
from workers.providers import Providers
from workers.providers.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
    parse_retry_after,
)
from workers.providers.webhooks import sign, verify

Make = Callable[[ProviderSettings], Providers]


@pytest.fixture
async def make_providers() -> AsyncIterator[Make]:
    made: list[Providers] = []

    def make(settings: ProviderSettings) -> Providers:
        providers = Providers.from_settings(settings)
        made.append(providers)
        return providers

    yield make
    for providers in made:
        await providers.aclose()


@pytest.fixture
def closed_port_url() -> str:
    # Bound then closed: nothing listens there, so connecting is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def unconfigured(**values: object) -> ProviderSettings:
    fields: dict[str, object] = {
        "stripe_secret_key": None,
        "sendgrid_api_key": None,
        "sendgrid_from": None,
        "twilio_account_sid": None,
        "twilio_auth_token": None,
        "twilio_from": None,
        "minting_url": None,
        "push_url": None,
        "webhook_signing_secret": None,
    }
    fields.update(values)
    return ProviderSettings(**fields)  # type: ignore[arg-type]


# Stripe


async def create_intent(providers: Providers, key: str = "pay-1", **overrides: Any):
    arguments: dict[str, Any] = {
        "amount": 1500,
        "currency": "EUR",
        "payment_method": "pm_card_visa",
        "description": "2 tickets",
        "metadata": {"order": "o-1"},
        "idempotency_key": key,
    }
    arguments.update(overrides)
    return await providers.stripe.create_payment_intent(**arguments)


async def test_stripe_create_intent_sends_key_idempotency_key_and_exact_amount(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))

    intent = await create_intent(providers, key="pay-create-1")

    (request,) = fake_stripe.requests
    assert (request.method, request.path) == ("POST", "/v1/payment_intents")
    assert request.headers["Authorization"] == f"Bearer {fake_stripe.api_key}"
    assert request.headers["Idempotency-Key"] == "pay-create-1"
    assert request.form["amount"] == "1500"
    assert request.form["currency"] == "eur"
    assert request.form["payment_method"] == "pm_card_visa"
    assert request.form["metadata[order]"] == "o-1"
    assert request.form["description"] == "2 tickets"
    assert request.form["confirm"] == "false"
    stored = fake_stripe.intents[intent["id"]]
    assert intent == {
        "id": stored["id"],
        "status": "requires_confirmation",
        "amount": 1500,
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "latest_charge": None,
        "description": "2 tickets",
        "metadata": {"order": "o-1"},
    }
    assert "client_secret" not in intent
    json.dumps(intent)  # stored as a job result: plain JSON


async def test_stripe_confirm_charges_once_and_names_the_charge(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    intent = await create_intent(providers)

    confirmed = await providers.stripe.confirm_payment_intent(
        intent["id"], payment_method="pm_card_visa", idempotency_key="pay-1-confirm"
    )

    assert confirmed["status"] == "succeeded"
    assert len(fake_stripe.charges) == 1
    assert confirmed["latest_charge"] == fake_stripe.charges[0]["id"]
    assert fake_stripe.charges[0]["amount"] == 1500
    request = fake_stripe.requests_to(f"/v1/payment_intents/{intent['id']}/confirm")[0]
    assert request.headers["Idempotency-Key"] == "pay-1-confirm"
    assert request.form == {"payment_method": "pm_card_visa"}


async def test_stripe_same_key_twice_replays_the_answer_without_a_second_charge(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    first_intent = await create_intent(providers, key="pay-7")
    again_intent = await create_intent(providers, key="pay-7")
    assert again_intent == first_intent

    first = await providers.stripe.confirm_payment_intent(
        first_intent["id"], payment_method="pm_card_visa", idempotency_key="pay-7-c"
    )
    again = await providers.stripe.confirm_payment_intent(
        first_intent["id"], payment_method="pm_card_visa", idempotency_key="pay-7-c"
    )

    assert again == first
    assert len(fake_stripe.requests) == 4
    assert [s.kind for s in fake_stripe.side_effects_for("pay-7")] == ["payment_intent"]
    assert [s.kind for s in fake_stripe.side_effects_for("pay-7-c")] == ["charge"]
    assert len(fake_stripe.charges) == 1


async def test_stripe_same_key_with_other_params_is_a_permanent_idempotency_error(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    await create_intent(providers, key="pay-9")

    with pytest.raises(ProviderRejected) as caught:
        await create_intent(providers, key="pay-9", amount=1600)

    assert caught.value.code == "idempotency_error"
    assert caught.value.http_status == 400
    assert len(fake_stripe.side_effects) == 1


async def test_stripe_card_decline_is_permanent_and_carries_stripes_code(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    intent = await create_intent(providers, payment_method="pm_card_chargeDeclined")

    with pytest.raises(ProviderRejected) as caught:
        await providers.stripe.confirm_payment_intent(
            intent["id"],
            payment_method="pm_card_chargeDeclined",
            idempotency_key="pay-d",
        )

    error = caught.value
    assert isinstance(error, PermanentTaskError)
    assert (error.provider, error.code, error.http_status) == (
        "stripe",
        "card_declined",
        402,
    )
    assert "card_declined" in str(error)
    assert "Your card was declined." in str(error)
    assert fake_stripe.charges == []


async def test_stripe_refund_sends_a_payment_intent_or_a_charge(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    paid = fake_stripe.seed_payment(amount=5000, currency="usd")

    by_intent = await providers.stripe.create_refund(
        payment_intent=paid["id"],
        amount=1200,
        reason="requested_by_customer",
        metadata={"ticket": "t-1"},
        idempotency_key="refund-1",
    )
    by_charge = await providers.stripe.create_refund(
        payment_intent=paid["latest_charge"],
        amount=None,
        reason=None,
        metadata={},
        idempotency_key="refund-2",
    )

    first, second = fake_stripe.requests_to("/v1/refunds")
    assert first.form == {
        "payment_intent": paid["id"],
        "amount": "1200",
        "reason": "requested_by_customer",
        "metadata[ticket]": "t-1",
    }
    assert first.headers["Idempotency-Key"] == "refund-1"
    assert second.form == {"charge": paid["latest_charge"]}
    assert by_intent["amount"] == 1200
    assert by_intent["status"] == "succeeded"
    assert by_intent["charge"] == paid["latest_charge"]
    assert by_charge["amount"] == 3800  # what was left


async def test_stripe_payout_sends_method_amount_and_key(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))

    payout = await providers.stripe.create_payout(
        amount=250_00,
        currency="GBP",
        method="instant",
        metadata={"venue": "v-1"},
        idempotency_key="payout-1",
    )

    (request,) = fake_stripe.requests
    assert request.path == "/v1/payouts"
    assert request.form == {
        "amount": "25000",
        "currency": "gbp",
        "method": "instant",
        "metadata[venue]": "v-1",
    }
    assert request.headers["Idempotency-Key"] == "payout-1"
    assert payout["id"] == fake_stripe.payouts[0]["id"]
    assert (payout["status"], payout["method"], payout["amount"]) == (
        "pending",
        "instant",
        25000,
    )


async def test_stripe_429_is_rate_limited_with_retry_after_and_not_retried_by_sdk(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    fake_stripe.fail_next(1, 429, headers={"Retry-After": "2"})

    with pytest.raises(ProviderRateLimited) as caught:
        await create_intent(providers)

    assert caught.value.retry_after_s == 2.0
    assert caught.value.http_status == 429
    assert len(fake_stripe.requests) == 1


async def test_stripe_500_is_unavailable_and_not_retried_by_sdk(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe))
    fake_stripe.fail_next(1, 500)

    with pytest.raises(ProviderUnavailable) as caught:
        await create_intent(providers)

    assert caught.value.http_status == 500
    assert isinstance(caught.value, RetryableTaskError)
    assert not isinstance(caught.value, PermanentTaskError)
    assert len(fake_stripe.requests) == 1


async def test_stripe_slow_answer_times_out_as_unavailable(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(settings_for_fakes(stripe=fake_stripe, timeout_s=0.3))
    fake_stripe.delay_s = 2.0

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable) as caught:
        await create_intent(providers)

    assert time.monotonic() - started < 1.5
    assert caught.value.http_status is None


async def test_stripe_refused_connection_is_unavailable(
    closed_port_url: str, make_providers: Make
):
    settings = unconfigured(
        stripe_secret_key="sk_test_x",  # noqa: S106 - a test credential
        stripe_api_base=closed_port_url,
    )
    providers = make_providers(settings)

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        await create_intent(providers)


async def test_stripe_wrong_key_is_rejected_without_echoing_the_key(
    fake_stripe: FakeStripe, make_providers: Make
):
    secret = "sk_test_wrong_0123456789abcdef"  # noqa: S105 - a test credential
    settings = unconfigured(stripe_secret_key=secret, stripe_api_base=fake_stripe.url)
    providers = make_providers(settings)

    with pytest.raises(ProviderRejected) as caught:
        await create_intent(providers)

    assert caught.value.http_status == 401
    assert secret not in str(caught.value)


async def test_stripe_without_a_key_is_not_configured_and_calls_nothing(
    fake_stripe: FakeStripe, make_providers: Make
):
    providers = make_providers(unconfigured(stripe_api_base=fake_stripe.url))

    with pytest.raises(ProviderNotConfigured) as caught:
        await create_intent(providers)

    assert str(caught.value) == (
        "payment-process needs STRIPE_SECRET_KEY (unset: STRIPE_SECRET_KEY); "
        "nothing was charged"
    )
    assert fake_stripe.requests == []


# SendGrid


async def test_sendgrid_sends_subject_and_content_with_bearer_auth(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    providers = make_providers(settings_for_fakes(sendgrid=fake_sendgrid))

    result = await providers.sendgrid.send(
        to="fan@example.com",
        subject="Your tickets",
        content="<p>See you there</p>",
        template_id=None,
        dynamic_data=None,
    )

    (request,) = fake_sendgrid.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["Authorization"] == f"Bearer {fake_sendgrid.api_key}"
    (sent,) = fake_sendgrid.sent
    assert sent.to == ["fan@example.com"]
    assert sent.from_email == SENDER
    assert sent.subject == "Your tickets"
    assert sent.content == [{"type": "text/html", "value": "<p>See you there</p>"}]
    assert result == {"status_code": 202, "message_id": sent.message_id}


async def test_sendgrid_emails_share_one_kept_alive_connection(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    providers = make_providers(settings_for_fakes(sendgrid=fake_sendgrid))

    for n in range(3):
        await providers.sendgrid.send(
            to=f"fan{n}@example.com",
            subject="Your tickets",
            content="<p>See you there</p>",
            template_id=None,
            dynamic_data=None,
        )

    assert len(fake_sendgrid.sent) == 3
    assert fake_sendgrid.connections_accepted == 1
    # The SDK's own headers go with every email.
    assert all(
        r.headers["User-Agent"].startswith("sendgrid/") for r in fake_sendgrid.requests
    )


async def test_sendgrid_sends_a_dynamic_template_with_its_data(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    providers = make_providers(settings_for_fakes(sendgrid=fake_sendgrid))

    await providers.sendgrid.send(
        to="fan@example.com",
        subject=None,
        content=None,
        template_id="d-123",
        dynamic_data={"name": "Ada", "seats": 2},
    )

    (sent,) = fake_sendgrid.sent
    assert sent.template_id == "d-123"
    assert sent.body["personalizations"][0]["dynamic_template_data"] == {
        "name": "Ada",
        "seats": 2,
    }


async def test_sendgrid_400_is_rejected_with_the_field_as_code(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    providers = make_providers(settings_for_fakes(sendgrid=fake_sendgrid))

    with pytest.raises(ProviderRejected) as caught:
        await providers.sendgrid.send(
            to="fan@example.com",
            subject="No body",
            content=None,
            template_id=None,
            dynamic_data=None,
        )

    assert (caught.value.code, caught.value.http_status) == ("content", 400)
    assert "content parameter is required" in str(caught.value)
    assert fake_sendgrid.sent == []


async def test_sendgrid_429_is_rate_limited_with_retry_after(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    providers = make_providers(settings_for_fakes(sendgrid=fake_sendgrid))
    fake_sendgrid.fail_next(1, 429, headers={"Retry-After": "3"})

    with pytest.raises(ProviderRateLimited) as caught:
        await providers.sendgrid.send(
            to="a@example.com",
            subject="s",
            content="c",
            template_id=None,
            dynamic_data=None,
        )

    assert caught.value.retry_after_s == 3.0
    assert caught.value.code == "too many requests"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_sendgrid_5xx_is_unavailable(
    fake_sendgrid: FakeSendGrid, make_providers: Make, status: int
):
    providers = make_providers(settings_for_fakes(sendgrid=fake_sendgrid))
    fake_sendgrid.fail_next(1, status)

    with pytest.raises(ProviderUnavailable) as caught:
        await providers.sendgrid.send(
            to="a@example.com",
            subject="s",
            content="c",
            template_id=None,
            dynamic_data=None,
        )

    assert caught.value.http_status == status
    assert len(fake_sendgrid.requests) == 1


async def test_sendgrid_slow_answer_times_out_as_unavailable(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    providers = make_providers(
        settings_for_fakes(sendgrid=fake_sendgrid, timeout_s=0.3)
    )
    fake_sendgrid.delay_s = 2.0

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        await providers.sendgrid.send(
            to="a@example.com",
            subject="s",
            content="c",
            template_id=None,
            dynamic_data=None,
        )
    assert time.monotonic() - started < 1.5


async def test_sendgrid_refused_connection_is_unavailable(
    closed_port_url: str, make_providers: Make
):
    settings = unconfigured(
        sendgrid_api_key="SG.x",
        sendgrid_from=SENDER,
        sendgrid_api_base=closed_port_url,
    )
    providers = make_providers(settings)

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        await providers.sendgrid.send(
            to="a@example.com",
            subject="s",
            content="c",
            template_id=None,
            dynamic_data=None,
        )


async def test_sendgrid_without_a_sender_is_not_configured(
    fake_sendgrid: FakeSendGrid, make_providers: Make
):
    settings = unconfigured(
        sendgrid_api_key=fake_sendgrid.api_key, sendgrid_api_base=fake_sendgrid.url
    )
    providers = make_providers(settings)

    with pytest.raises(ProviderNotConfigured) as caught:
        await providers.sendgrid.send(
            to="a@example.com",
            subject="s",
            content="c",
            template_id=None,
            dynamic_data=None,
        )

    assert str(caught.value) == (
        "send-email needs SENDGRID_API_KEY and SENDGRID_FROM (unset: SENDGRID_FROM); "
        "the email was not sent"
    )
    assert fake_sendgrid.requests == []


# Twilio


async def test_twilio_sms_uses_basic_auth_and_the_account_path(
    fake_twilio: FakeTwilio, make_providers: Make
):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))

    result = await providers.twilio.send_sms(to="+14155550123", body="Doors open at 7")

    (request,) = fake_twilio.requests
    assert (
        request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    )
    expected = base64.b64encode(
        f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode()
    ).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.form == {
        "To": "+14155550123",
        "From": TWILIO_NUMBER,
        "Body": "Doors open at 7",
    }
    (message,) = fake_twilio.messages
    assert result == {"sid": message.sid, "status": "queued"}
    assert message.sid.startswith("SM")


async def test_twilio_call_sends_twiml(fake_twilio: FakeTwilio, make_providers: Make):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))
    twiml = "<Response><Say>Queue money is failing</Say></Response>"

    result = await providers.twilio.call(to="+14155550199", twiml=twiml)

    (request,) = fake_twilio.requests
    assert request.path.endswith("/Calls.json")
    assert request.form == {"To": "+14155550199", "From": TWILIO_NUMBER, "Twiml": twiml}
    (call,) = fake_twilio.calls
    assert result == {"sid": call.sid, "status": "queued"}
    assert call.sid.startswith("CA")


async def test_twilio_ignores_edge_and_region_from_the_environment(
    fake_twilio: FakeTwilio, make_providers: Make, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("TWILIO_EDGE", "sydney")
    monkeypatch.setenv("TWILIO_REGION", "au1")
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))

    await providers.twilio.send_sms(to="+14155550123", body="hi")

    assert len(fake_twilio.messages) == 1


async def test_twilio_invalid_number_is_rejected_with_twilios_code(
    fake_twilio: FakeTwilio, make_providers: Make
):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))

    with pytest.raises(ProviderRejected) as caught:
        await providers.twilio.send_sms(to="0800-TICKETS", body="hi")

    assert (caught.value.provider, caught.value.code, caught.value.http_status) == (
        "twilio",
        "21211",
        400,
    )
    assert "21211" in str(caught.value)
    assert fake_twilio.messages == []


async def test_twilio_429_is_rate_limited_with_retry_after(
    fake_twilio: FakeTwilio, make_providers: Make
):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))
    fake_twilio.fail_next(1, 429, headers={"Retry-After": "5"})

    with pytest.raises(ProviderRateLimited) as caught:
        await providers.twilio.send_sms(to="+14155550123", body="hi")

    assert caught.value.retry_after_s == 5.0
    assert caught.value.code == "20429"


async def test_twilio_500_is_unavailable(fake_twilio: FakeTwilio, make_providers: Make):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))
    fake_twilio.fail_next(1, 500)

    with pytest.raises(ProviderUnavailable) as caught:
        await providers.twilio.call(to="+14155550123", twiml="<Response/>")

    assert (caught.value.http_status, caught.value.code) == (500, "20500")


async def test_twilio_slow_answer_times_out_as_unavailable(
    fake_twilio: FakeTwilio, make_providers: Make
):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio, timeout_s=0.3))
    fake_twilio.delay_s = 2.0

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable):
        await providers.twilio.send_sms(to="+14155550123", body="hi")
    assert time.monotonic() - started < 1.5


async def test_twilio_refused_connection_is_unavailable(
    closed_port_url: str, make_providers: Make
):
    settings = unconfigured(
        twilio_account_sid="AC1",
        twilio_auth_token="t",  # noqa: S106 - a test credential
        twilio_from=TWILIO_NUMBER,
        twilio_api_base=closed_port_url,
    )
    providers = make_providers(settings)

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        await providers.twilio.send_sms(to="+14155550123", body="hi")


async def test_twilio_without_credentials_names_the_missing_variables(
    make_providers: Make,
):
    providers = make_providers(unconfigured(twilio_account_sid="AC1"))

    with pytest.raises(ProviderNotConfigured) as caught:
        await providers.twilio.send_sms(to="+14155550123", body="hi")

    assert str(caught.value) == (
        "send-sms needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM "
        "(unset: TWILIO_AUTH_TOKEN and TWILIO_FROM); the message was not sent"
    )


async def test_fake_twilio_counts_requests_in_a_sliding_window(
    fake_twilio: FakeTwilio, make_providers: Make
):
    providers = make_providers(settings_for_fakes(twilio=fake_twilio))
    for _ in range(3):
        await providers.twilio.send_sms(to="+14155550123", body="hi")
    await providers.twilio.call(to="+14155550123", twiml="<Response/>")

    assert fake_twilio.max_in_window(60.0) == 3
    assert fake_twilio.max_in_window(1e-9) == 1
    assert fake_twilio.max_in_window(60.0, resource="Calls.json") == 1


# Minting


async def test_minting_posts_json_with_the_idempotency_key_and_replays_it(
    fake_minting: FakeMinting, make_providers: Make
):
    providers = make_providers(settings_for_fakes(minting=fake_minting))
    payload = {"eventId": "e-1", "walletAddress": "W1", "seatId": "A-12"}

    first = await providers.minting.mint(payload=payload, idempotency_key="mint-1")
    again = await providers.minting.mint(payload=payload, idempotency_key="mint-1")

    request = fake_minting.requests[0]
    assert (request.method, request.path) == ("POST", "/mint")
    assert request.headers["Idempotency-Key"] == "mint-1"
    assert request.json == payload
    (mint,) = fake_minting.mints_for("mint-1")
    assert first == {
        "mintAddress": mint.mint_address,
        "transactionSignature": mint.transaction_signature,
    }
    assert again == first


async def test_minting_answer_without_its_fields_is_unavailable(
    fake_minting: FakeMinting, make_providers: Make
):
    providers = make_providers(settings_for_fakes(minting=fake_minting))
    fake_minting.fail_next(1, 200, body={"mintAddress": "M1"})

    with pytest.raises(ProviderUnavailable, match="without transactionSignature"):
        await providers.minting.mint(payload={"a": 1}, idempotency_key="mint-2")


async def test_minting_retry_after_as_http_date_is_rate_limited(
    fake_minting: FakeMinting, make_providers: Make
):
    providers = make_providers(settings_for_fakes(minting=fake_minting))
    when = datetime.now(UTC) + timedelta(seconds=30)
    fake_minting.fail_next(
        1, 503, headers={"Retry-After": format_datetime(when, usegmt=True)}
    )

    with pytest.raises(ProviderRateLimited) as caught:
        await providers.minting.mint(payload={"a": 1}, idempotency_key="mint-3")

    assert caught.value.retry_after_s is not None
    assert 25 <= caught.value.retry_after_s <= 30
    assert caught.value.http_status == 503


async def test_minting_400_is_rejected_with_http_code(
    fake_minting: FakeMinting, make_providers: Make
):
    providers = make_providers(settings_for_fakes(minting=fake_minting))
    fake_minting.fail_next(1, 422, body={"error": "unknown seat"})

    with pytest.raises(ProviderRejected) as caught:
        await providers.minting.mint(payload={"a": 1}, idempotency_key="mint-4")

    assert caught.value.code == "http_422"
    assert "unknown seat" in str(caught.value)


async def test_minting_without_url_is_not_configured(make_providers: Make):
    providers = make_providers(unconfigured())

    with pytest.raises(ProviderNotConfigured, match="nft-mint needs MINTING_URL"):
        await providers.minting.mint(payload={"a": 1}, idempotency_key="mint-5")


# Push


async def test_push_posts_the_notification_and_returns_the_answer(
    fake_push: FakePush, make_providers: Make
):
    providers = make_providers(settings_for_fakes(push=fake_push))
    fake_push.devices_per_user = 2

    result = await providers.push.send(
        user_id="u-1", title="Doors open", body="Gate B", data={"eventId": "e-1"}
    )

    (request,) = fake_push.requests
    assert (request.method, request.path) == ("POST", "/send")
    assert request.json == {
        "userId": "u-1",
        "title": "Doors open",
        "body": "Gate B",
        "data": {"eventId": "e-1"},
    }
    assert result["delivered"] == 2
    assert result["id"].startswith("push_")


async def test_push_without_url_is_not_configured(make_providers: Make):
    providers = make_providers(unconfigured())

    with pytest.raises(ProviderNotConfigured, match="send-push needs PUSH_URL"):
        await providers.push.send(user_id="u", title="t", body="b", data=None)


# Webhooks


async def test_webhook_is_signed_and_the_receiver_verifies_it(
    fake_webhook_receiver: FakeWebhookReceiver, make_providers: Make
):
    providers = make_providers(settings_for_fakes())
    url = fake_webhook_receiver.url + "/hooks/orders"

    result = await providers.webhooks.deliver(
        url=url, event="order.paid", event_id="evt-1", payload={"orderId": "o-1"}
    )

    assert result == {"status_code": 200}
    assert fake_webhook_receiver.valid_signatures == [True]
    (request,) = fake_webhook_receiver.deliveries
    assert request.path == "/hooks/orders"
    assert request.headers["X-Webhook-Id"] == "evt-1"
    timestamp = int(request.headers["X-Webhook-Timestamp"])
    assert abs(timestamp - time.time()) < 60
    body = json.loads(request.body)
    assert body["event"] == "order.paid"
    assert body["eventId"] == "evt-1"
    assert body["payload"] == {"orderId": "o-1"}
    assert datetime.fromisoformat(body["deliveredAt"]).timestamp() == timestamp
    signature = request.headers["X-Webhook-Signature"]
    assert signature == sign(WEBHOOK_SECRET, "evt-1", timestamp, url, request.body)
    assert verify(
        WEBHOOK_SECRET,
        url=url,
        event_id=request.headers["X-Webhook-Id"],
        timestamp=request.headers["X-Webhook-Timestamp"],
        body=request.body,
        signature=signature,
    )


def test_webhook_signature_fails_for_any_other_body_url_id_secret_or_time():
    now = 1_700_000_000
    url = "https://hooks.example.com/orders"
    body = b'{"event":"order.paid","payload":{"amount":1500}}'
    signature = sign(WEBHOOK_SECRET, "evt-1", now, url, body)

    def check(**changed: Any) -> bool:
        given: dict[str, Any] = {
            "url": url,
            "event_id": "evt-1",
            "timestamp": now,
            "body": body,
            "signature": signature,
            "now": now,
        }
        return verify(changed.pop("secret", WEBHOOK_SECRET), **{**given, **changed})

    assert signature.startswith("v1=") and len(signature) == 3 + 64
    assert check()
    assert not check(body=body.replace(b"1500", b"1"))
    assert not check(secret=b"other-secret")
    assert not check(timestamp=now + 1)
    assert not check(now=now + 301)
    assert check(now=now + 301, tolerance_s=None)
    assert not check(timestamp="not-a-time")
    # Replayed to another subscriber, or under another id: refused.
    assert not check(url="https://other.example.com/orders")
    assert not check(event_id="evt-2")


def test_webhook_signatures_of_a_chosen_url_and_body_fit_no_other_url():
    # With fields joined by ".", a caller choosing the URL
    # `https://victim/hook.x` and the body could make one delivery's
    # signature verify at `https://victim/hook` with another body.
    now = 1_700_000_000
    signature = sign(WEBHOOK_SECRET, "e", now, "https://victim.example/hook.x", b"{}")

    assert not verify(
        WEBHOOK_SECRET,
        url="https://victim.example/hook",
        event_id="e",
        timestamp=now,
        body=b"x\n{}",
        signature=signature,
        now=now,
    )
    with pytest.raises(ValueError, match="control character"):
        sign(WEBHOOK_SECRET, "e\n1", now, "https://victim.example/hook", b"{}")


async def test_webhook_receiver_flags_a_wrong_signature(
    fake_webhook_receiver: FakeWebhookReceiver, make_providers: Make
):
    providers = make_providers(settings_for_fakes(webhook_secret=b"not-the-receivers"))

    await providers.webhooks.deliver(
        url=fake_webhook_receiver.url, event="e", event_id="evt-2", payload={}
    )

    assert fake_webhook_receiver.valid_signatures == [False]


async def test_webhook_redirect_is_not_followed_and_is_rejected(
    fake_webhook_receiver: FakeWebhookReceiver, make_providers: Make
):
    providers = make_providers(settings_for_fakes())
    fake_webhook_receiver.fail_next(
        1, 302, body=b"", headers={"Location": fake_webhook_receiver.url + "/elsewhere"}
    )

    with pytest.raises(ProviderRejected) as caught:
        await providers.webhooks.deliver(
            url=fake_webhook_receiver.url + "/hook",
            event="e",
            event_id="evt-3",
            payload={},
        )

    assert caught.value.code == "http_302"
    assert [r.path for r in fake_webhook_receiver.requests] == ["/hook"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (410, ProviderRejected),
        (400, ProviderRejected),
        (408, ProviderUnavailable),
        (503, ProviderUnavailable),
        (429, ProviderRateLimited),
    ],
)
async def test_webhook_answers_follow_the_taxonomy(
    fake_webhook_receiver: FakeWebhookReceiver,
    make_providers: Make,
    status: int,
    error: type[ProviderError],
):
    providers = make_providers(settings_for_fakes())
    fake_webhook_receiver.fail_next(1, status)

    with pytest.raises(error) as caught:
        await providers.webhooks.deliver(
            url=fake_webhook_receiver.url, event="e", event_id="evt-4", payload={}
        )

    assert type(caught.value) is error
    assert (caught.value.provider, caught.value.code, caught.value.http_status) == (
        "webhook",
        f"http_{status}",
        status,
    )


async def test_webhook_to_a_closed_port_is_unavailable(
    closed_port_url: str, make_providers: Make
):
    providers = make_providers(settings_for_fakes())

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        await providers.webhooks.deliver(
            url=closed_port_url, event="e", event_id="evt-5", payload={}
        )


async def test_webhook_to_an_unsupported_url_is_rejected(make_providers: Make):
    providers = make_providers(settings_for_fakes())

    with pytest.raises(ProviderRejected) as caught:
        await providers.webhooks.deliver(
            url="ftp://example.com/hook", event="e", event_id="evt-6", payload={}
        )

    assert caught.value.code == "invalid_url"


async def test_webhook_without_secret_is_not_configured(make_providers: Make):
    providers = make_providers(unconfigured())

    with pytest.raises(ProviderNotConfigured) as caught:
        await providers.webhooks.deliver(
            url="http://127.0.0.1:9/hook", event="e", event_id="evt-7", payload={}
        )

    assert "webhook-deliver needs WEBHOOK_SIGNING_SECRET" in str(caught.value)


# The taxonomy itself, and the fakes' hooks


def test_retry_after_reads_seconds_and_http_dates():
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)

    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_error_messages_are_capped():
    error = ProviderRejected("x" * 2000, provider="stripe", code="c", http_status=400)

    assert len(str(error)) == 500


async def test_providers_build_without_settings_and_fail_each_call_permanently(
    make_providers: Make,
):
    providers = make_providers(unconfigured())

    with pytest.raises(
        ProviderNotConfigured, match="payout-process needs STRIPE_SECRET_KEY"
    ):
        await providers.stripe.create_payout(
            amount=1,
            currency="usd",
            method="standard",
            metadata={},
            idempotency_key="k",
        )
    with pytest.raises(
        ProviderNotConfigured, match="voice call needs TWILIO_ACCOUNT_SID"
    ):
        await providers.twilio.call(to="+14155550123", twiml="<Response/>")


async def test_on_answer_runs_after_the_answer_reached_the_client(
    fake_push: FakePush, make_providers: Make
):
    providers = make_providers(settings_for_fakes(push=fake_push))
    answered = threading.Event()
    seen: list[str] = []

    def on_answer(request):
        seen.append(request.path)
        answered.set()

    fake_push.on_answer = on_answer
    result = await providers.push.send(user_id="u", title="t", body="b", data=None)

    assert result["delivered"] == 1
    assert answered.wait(5)
    assert seen == ["/send"]


async def test_fake_in_a_subprocess_serves_the_sdk_and_reports_its_state(
    make_providers: Make,
):
    with fake_process("stripe", "--api-key", "sk_test_subprocess") as fake:
        providers = make_providers(
            unconfigured(
                stripe_secret_key="sk_test_subprocess",  # noqa: S106 - a test credential
                stripe_api_base=fake.url,
            )
        )
        fake.fail_next(1, 500)
        with pytest.raises(ProviderUnavailable):
            await create_intent(providers, key="sub-1")
        intent = await create_intent(providers, key="sub-1")

        state = fake.state()
        recorded = fake.requests()

    assert list(state["intents"]) == [intent["id"]]
    assert [s["idempotency_key"] for s in state["side_effects"]] == ["sub-1"]
    assert [r["headers"]["idempotency-key"] for r in recorded] == ["sub-1", "sub-1"]
