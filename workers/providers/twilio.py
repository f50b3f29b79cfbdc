"""Twilio: text messages and voice calls through the official SDK.

The SDK's `*_async` methods run on an `AsyncHttpClient`. We give it one over
httpx rather than the SDK's aiohttp client: that one ignores its `timeout`
argument, has no connect timeout, and drops the headers of error answers, so a
429's `Retry-After` would be lost. Ours has both timeouts, never retries (the
queue does) and follows no redirects.

The base URL override sets the `api` domain's `base_url`; the client gets an
explicit environment so `TWILIO_EDGE`/`TWILIO_REGION` cannot rewrite the host.
Twilio has no idempotency key for messages: the idempotency ledger keeps a
succeeded send from being repeated.
"""

import json
import logging
from typing import Any

import httpx
from twilio.base.exceptions import (  # type: ignore[import-untyped]
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http import AsyncHttpClient  # type: ignore[import-untyped]
from twilio.http.response import Response  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from app.settings import ProviderSettings
from workers.providers.errors import (
    ProviderError,
    ProviderUnavailable,
    error_for_status,
    not_configured,
    unreachable,
)

logger = logging.getLogger(__name__)

PROVIDER = "twilio"
_NEEDS = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM"]


class _HttpxTwilioClient(AsyncHttpClient):  # type: ignore[misc]
    """The SDK's async transport over httpx, with connect and read timeouts."""

    def __init__(self, timeout: httpx.Timeout) -> None:
        super().__init__(logger=logger, is_async=True, timeout=None)
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - the SDK's interface
        allow_redirects: bool = False,
    ) -> Response:
        del allow_redirects  # Never followed: a redirect is not Twilio's answer.
        try:
            response = await self._client.request(
                method,
                url,
                params=params,  # type: ignore[arg-type]
                data=data,
                headers=headers,
                auth=auth,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            raise unreachable(PROVIDER, exc) from exc
        if response.status_code == 429 or (
            response.status_code >= 400 and "Retry-After" in response.headers
        ):
            # Raised here because the SDK's exception has no headers.
            code, message = _error_fields(response.text)
            raise error_for_status(
                provider=PROVIDER,
                http_status=response.status_code,
                headers=response.headers,
                code=code,
                message=message,
            )
        return Response(response.status_code, response.text, response.headers)

    async def aclose(self) -> None:
        await self._client.aclose()


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
        self._http: _HttpxTwilioClient | None = None
        self._client: Any = None

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
            ProviderNotConfigured: a TWILIO_* credential or TWILIO_FROM is unset.
            ProviderRejected: with `code` `21211` for an invalid number.
            ProviderError: see `workers.providers.errors`.
        """
        client = self._client_for("send-sms", "the message was not sent")
        account = client.api.v2010.accounts(self._account_sid)
        try:
            message = await account.messages.create_async(
                to=to, from_=self._from, body=body
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _translate(exc) from exc
        except json.JSONDecodeError as exc:
            raise _malformed(exc) from exc
        return {"sid": str(message.sid), "status": str(message.status)}

    async def call(self, *, to: str, twiml: str) -> dict[str, str]:
        """Place a voice call from TWILIO_FROM that plays the given TwiML.

        Args:
            to: The number to call, E.164.
            twiml: TwiML instructions, such as `<Response><Say>...</Say></Response>`.

        Returns:
            `sid` (`CA...`) and `status` (`queued` when accepted).

        Raises:
            ProviderNotConfigured: a TWILIO_* credential or TWILIO_FROM is unset.
            ProviderError: see `workers.providers.errors`.
        """
        client = self._client_for("voice call", "nobody was called")
        account = client.api.v2010.accounts(self._account_sid)
        try:
            placed = await account.calls.create_async(
                to=to, from_=self._from, twiml=twiml
            )
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _translate(exc) from exc
        except json.JSONDecodeError as exc:
            raise _malformed(exc) from exc
        return {"sid": str(placed.sid), "status": str(placed.status)}

    @property
    def configured(self) -> bool:
        """Whether the credentials and the sender are set."""
        return all((self._account_sid, self._auth_token, self._from))

    def warm_up(self) -> None:
        """Build the client and load the SDK's lazily imported modules, if configured.

        The first call would otherwise spend ~0.1 s (more on a busy machine)
        importing: long enough to bunch calls the rate limiter had spaced.
        """
        if not self.configured:
            return
        account = self._client_for("warm-up", "").api.v2010.accounts(self._account_sid)
        _ = (account.messages, account.calls)

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.aclose()

    def _client_for(self, what: str, effect: str) -> Any:
        values = [self._account_sid, self._auth_token, self._from]
        missing = [
            name for name, value in zip(_NEEDS, values, strict=True) if not value
        ]
        if missing:
            raise not_configured(what, needs=_NEEDS, missing=missing, effect=effect)
        if self._client is None:
            self._http = _HttpxTwilioClient(self._timeout)
            client = Client(
                username=self._account_sid,
                password=self._auth_token,
                account_sid=self._account_sid,
                http_client=self._http,
                # Not os.environ: TWILIO_EDGE or TWILIO_REGION there would
                # rewrite the host of TWILIO_API_BASE.
                environment={"TWILIO_ACCOUNT_SID": self._account_sid},
            )
            client.api.base_url = self._api_base
            self._client = client
        return self._client


def _translate(exc: TwilioRestException | TwilioServiceException) -> ProviderError:
    status = int(exc.status)
    code = str(exc.code) if exc.code is not None else None
    if isinstance(exc, TwilioServiceException):
        message = exc.detail or exc.title
    else:
        # The SDK prefixes Twilio's message with "Unable to create record: ".
        message = str(exc.msg).split(": ", 1)[-1]
    return error_for_status(
        provider=PROVIDER, http_status=status, code=code, message=message
    )


def _malformed(exc: Exception) -> ProviderError:
    return ProviderUnavailable(
        f"twilio answered with a body that is not JSON ({type(exc).__name__})",
        provider=PROVIDER,
    )


def _error_fields(text: str) -> tuple[str | None, str | None]:
    try:
        body = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    message = body.get("message")
    return (
        str(code) if code is not None else None,
        message if isinstance(message, str) else None,
    )
