"""Function-scoped fixtures that yield a started fake and stop it after.

Import them into a conftest (`from tests.fakes.fixtures import *` or by name).
"""

from collections.abc import Iterator

import pytest

from app.settings import ProviderSettings
from tests.fakes.http_services import FakeMinting, FakePush, FakeWebhookReceiver
from tests.fakes.sendgrid import FakeSendGrid
from tests.fakes.stripe import FakeStripe
from tests.fakes.twilio import FakeTwilio

WEBHOOK_SECRET = b"whsec_test_0123456789"
SENDER = "tickets@example.com"
TWILIO_NUMBER = "+15005550006"


@pytest.fixture
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_minting() -> Iterator[FakeMinting]:
    with FakeMinting() as fake:
        yield fake


@pytest.fixture
def fake_push() -> Iterator[FakePush]:
    with FakePush() as fake:
        yield fake


@pytest.fixture
def fake_webhook_receiver() -> Iterator[FakeWebhookReceiver]:
    with FakeWebhookReceiver(secret=WEBHOOK_SECRET) as fake:
        yield fake


def settings_for_fakes(
    *,
    stripe: FakeStripe | None = None,
    sendgrid: FakeSendGrid | None = None,
    twilio: FakeTwilio | None = None,
    minting: FakeMinting | None = None,
    push: FakePush | None = None,
    webhook_secret: bytes | None = WEBHOOK_SECRET,
    connect_timeout_s: float = 2.0,
    timeout_s: float = 5.0,
) -> ProviderSettings:
    """ProviderSettings that point at the given fakes, with their credentials.

    A provider whose fake is not given is left unconfigured.
    """
    values: dict[str, object] = {
        "stripe_secret_key": stripe.api_key if stripe else None,
        "sendgrid_api_key": sendgrid.api_key if sendgrid else None,
        "sendgrid_from": SENDER if sendgrid else None,
        "twilio_account_sid": twilio.account_sid if twilio else None,
        "twilio_auth_token": twilio.auth_token if twilio else None,
        "twilio_from": TWILIO_NUMBER if twilio else None,
        "minting_url": minting.url if minting else None,
        "push_url": push.url if push else None,
        "webhook_signing_secret": webhook_secret.decode() if webhook_secret else None,
        # The fakes listen on loopback, which webhooks may not reach unless named.
        "webhook_allowed_networks": "127.0.0.0/8,::1/128",
        "provider_connect_timeout_s": connect_timeout_s,
        "provider_timeout_s": timeout_s,
    }
    if stripe:
        values["stripe_api_base"] = stripe.url
    if sendgrid:
        values["sendgrid_api_base"] = sendgrid.url
    if twilio:
        values["twilio_api_base"] = twilio.url
    return ProviderSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def fake_provider_settings(
    fake_stripe: FakeStripe,
    fake_sendgrid: FakeSendGrid,
    fake_twilio: FakeTwilio,
    fake_minting: FakeMinting,
    fake_push: FakePush,
) -> ProviderSettings:
    """Every provider configured against its started fake."""
    return settings_for_fakes(
        stripe=fake_stripe,
        sendgrid=fake_sendgrid,
        twilio=fake_twilio,
        minting=fake_minting,
        push=fake_push,
    )
