"""Twilio's official SDK on our transport: all of the Twilio client that needs it.

The SDK is the optional extra `queue-service[twilio]`, so only
`workers.providers.twilio` imports this module, when it first builds a client
(`TwilioProvider`); without the SDK that import fails and the job fails with
`ProviderNotConfigured`.

The SDK's `*_async` methods run on an `AsyncHttpClient`. We give it one over
httpx rather than the SDK's aiohttp client: that one ignores its `timeout`
argument, has no connect timeout, and drops the headers of error answers, so a
429's `Retry-After` would be lost. Ours has both timeouts, never retries (the
queue does) and follows no redirects.

The base URL override sets the `api` domain's `base_url`; the client gets an
explicit environment so `TWILIO_EDGE`/`TWILIO_REGION` cannot rewrite the host.
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

from workers.providers.errors import (
    ProviderError,
    ProviderUnavailable,
    error_for_status,
    unreachable,
)

logger = logging.getLogger(__name__)

PROVIDER = "twilio"


class TwilioApi:
    """The SDK's client for one account and sender, on our httpx transport."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base: str,
        timeout: httpx.Timeout,
    ) -> None:
        self._account_sid = account_sid
        self._from = from_number
        self._http = _HttpxTwilioClient(timeout)
        client = Client(
            username=account_sid,
            password=auth_token,
            account_sid=account_sid,
            http_client=self._http,
            # Not os.environ: TWILIO_EDGE or TWILIO_REGION there would
            # rewrite the host of TWILIO_API_BASE.
            environment={"TWILIO_ACCOUNT_SID": account_sid},
        )
        client.api.base_url = api_base
        self._client = client

    async def send_sms(self, *, to: str, body: str) -> dict[str, str]:
        """Send a text message; see `TwilioProvider.send_sms`."""
        account = self._client.api.v2010.accounts(self._account_sid)
        return await self._create(account.messages, to=to, body=body)

    async def call(self, *, to: str, twiml: str) -> dict[str, str]:
        """Place a voice call; see `TwilioProvider.call`."""
        account = self._client.api.v2010.accounts(self._account_sid)
        return await self._create(account.calls, to=to, twiml=twiml)

    async def _create(self, resource: Any, **fields: str) -> dict[str, str]:
        # A message and a call are created, and fail, the same way.
        try:
            created = await resource.create_async(from_=self._from, **fields)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _translate(exc) from exc
        except json.JSONDecodeError as exc:
            raise _malformed(exc) from exc
        return {"sid": str(created.sid), "status": str(created.status)}

    def warm_up(self) -> None:
        """Load the SDK's lazily imported modules of messages and calls."""
        account = self._client.api.v2010.accounts(self._account_sid)
        _ = (account.messages, account.calls)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()


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
