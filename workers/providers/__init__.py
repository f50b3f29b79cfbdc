"""The only code that talks to the outside: one small client per provider.

Each takes its settings at construction, opens connections on first use and
fails a call, not the worker, when its credentials are missing
(`ProviderNotConfigured`). Errors follow `workers.providers.errors`.

The SendGrid and Twilio SDKs are optional extras (`queue-service[sendgrid]`,
`queue-service[twilio]`): only `sendgrid_sdk` and `twilio_sdk` import them,
when a client is first built, so this package imports without them and a call
that needs a missing SDK fails with `ProviderNotConfigured`, naming the extra.
"""

import asyncio
from dataclasses import dataclass

from app.settings import ProviderSettings
from workers.providers.http_services import MintingProvider, PushProvider
from workers.providers.sendgrid import SendGridProvider
from workers.providers.stripe import StripeProvider
from workers.providers.twilio import TwilioProvider
from workers.providers.webhooks import WebhookSender


@dataclass(frozen=True)
class Providers:
    """Every provider client of a worker process."""

    stripe: StripeProvider
    sendgrid: SendGridProvider
    twilio: TwilioProvider
    minting: MintingProvider
    push: PushProvider
    webhooks: WebhookSender

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "Providers":
        """Build every client; none connects or checks credentials yet."""
        return cls(
            stripe=StripeProvider.from_settings(settings),
            sendgrid=SendGridProvider.from_settings(settings),
            twilio=TwilioProvider.from_settings(settings),
            minting=MintingProvider.from_settings(settings),
            push=PushProvider.from_settings(settings),
            webhooks=WebhookSender.from_settings(settings),
        )

    def warm_up(self) -> None:
        """Build the configured SDK clients now, so no job pays for their imports.

        A configured provider whose SDK is not installed logs a warning
        naming the extra; it does not stop the worker.
        """
        self.stripe.warm_up()
        self.sendgrid.warm_up()
        self.twilio.warm_up()

    async def aclose(self) -> None:
        """Close every client's connections."""
        await asyncio.gather(
            self.stripe.aclose(),
            self.sendgrid.aclose(),
            self.twilio.aclose(),
            self.minting.aclose(),
            self.push.aclose(),
            self.webhooks.aclose(),
        )
