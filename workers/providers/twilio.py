"""Twilio: text messages and voice calls through the official SDK.

The SDK is the optional extra `queue-service[twilio]`: this module does not
import it, so the worker starts without it. The first call (or `warm_up`)
imports `workers.providers.twilio_sdk`, which holds all the code that needs
the SDK and documents the transport. Without the SDK a call fails with
`ProviderNotConfigured`, as it does without credentials, and sends nothing.

Twilio has no idempotency key for messages: the idempotency ledger keeps a
succeeded send from being repeated.
"""

import logging
from typing import Protocol

import httpx

from app.domain.errors import ProviderNotConfigured
from app.settings import ProviderSettings
from workers.providers.errors import (
    is_outside_import,
    not_configured,
    sdk_not_installed,
)

logger = logging.getLogger(__name__)

PROVIDER = "twilio"
EXTRA = "twilio"
_NEEDS = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"]


class _Api(Protocol):
    """What the provider uses of `workers.providers.twilio_sdk.TwilioApi`."""

    async def send_sms(self, *, to: str, body: str) -> dict[str, str]: ...

    async def call(self, *, to: str, twiml: str) -> dict[str, str]: ...

    def warm_up(self) -> None: ...

    async def aclose(self) -> None: ...


class TwilioProvider:
    """Twilio's Messages and Calls endpoints of API 2010-04-01."""

    def __init__(
        self,
        *,
        account_sid: str | None,
        auth_token: str | None,
        from_number: str | None,
        api_base: str = "https://api.twilio.com",
        connect_timeout_s: float = 5.0,
        timeout_s: float = 20.0,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from = from_number
        self._api_base = api_base.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._api: _Api | None = None

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "TwilioProvider":
        """Build the provider from the service's settings."""
        token = settings.twilio_auth_token
        return cls(
            account_sid=settings.twilio_account_sid,
            auth_token=token.get_secret_value() if token is not None else None,
            from_number=settings.twilio_from,
            api_base=settings.twilio_api_base,
            connect_timeout_s=settings.provider_connect_timeout_s,
            timeout_s=settings.provider_timeout_s,
        )

    async def send_sms(self, *, to: str, body: str) -> dict[str, str]:
        """Send a text message from TWILIO_FROM.

        Args:
            to: The recipient, E.164.
            body: The text, up to 1600 characters.

        Returns:
            `sid` (`SM...`) and `status` (`queued` when accepted).

        Raises:
            ProviderNotConfigured: a TWILIO_* credential or TWILIO_FROM is
                unset, or the Twilio SDK is not installed.
            ProviderRejected: with `code` `21211` for an invalid number.
            ProviderError: see `workers.providers.errors`.
        """
        api = self._api_for("send-sms", "the message was not sent")
        return await api.send_sms(to=to, body=body)

    async def call(self, *, to: str, twiml: str) -> dict[str, str]:
        """Place a voice call from TWILIO_FROM that plays the given TwiML.

        Args:
            to: The number to call, E.164.
            twiml: TwiML instructions, such as `<Response><Say>...</Say></Response>`.

        Returns:
            `sid` (`CA...`) and `status` (`queued` when accepted).

        Raises:
            ProviderNotConfigured: a TWILIO_* credential or TWILIO_FROM is
                unset, or the Twilio SDK is not installed.
            ProviderError: see `workers.providers.errors`.
        """
        api = self._api_for("voice call", "nobody was called")
        return await api.call(to=to, twiml=twiml)

    @property
    def configured(self) -> bool:
        """Whether the credentials and the sender are set."""
        return all((self._account_sid, self._auth_token, self._from))

    def warm_up(self) -> None:
        """Build the client and load the SDK's lazily imported modules, if configured.

        The first call would otherwise spend ~0.1 s (more on a busy machine)
        importing: long enough to bunch calls the rate limiter had spaced.
        Without the SDK this logs a warning and the worker starts all the
        same; each Twilio job then fails, naming the extra to install.
        """
        if not self.configured:
            return
        try:
            api = self._api_for("warm-up", "")
        except ProviderNotConfigured:
            logger.warning(
                "The Twilio SDK is not installed; SMS and voice jobs will fail.",
                extra={
                    "action": "provider_sdk_missing",
                    "provider": PROVIDER,
                    "install": f"queue-service[{EXTRA}]",
                },
            )
            return
        api.warm_up()

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        api, self._api = self._api, None
        if api is not None:
            await api.aclose()

    def _api_for(self, what: str, effect: str) -> _Api:
        sid, token, sender = self._account_sid, self._auth_token, self._from
        if not (sid and token and sender):
            values = [sid, token, sender]
            missing = [
                name for name, value in zip(_NEEDS, values, strict=True) if not value
            ]
            raise not_configured(what, needs=_NEEDS, missing=missing, effect=effect)
        if self._api is None:
            try:
                # Here, not at the top: the SDK is an optional extra.
                from workers.providers.twilio_sdk import TwilioApi
            except ImportError as exc:
                if not is_outside_import(exc):
                    raise
                raise sdk_not_installed(
                    what, sdk="Twilio", extra=EXTRA, effect=effect
                ) from exc
            self._api = TwilioApi(
                account_sid=sid,
                auth_token=token,
                from_number=sender,
                api_base=self._api_base,
                timeout=self._timeout,
            )
        return self._api
