"""SendGrid: transactional email, the request built by the official SDK.

The SDK builds the message (`sendgrid.helpers.mail.Mail`), the URL and the
headers; it is sent on one `aiohttp.ClientSession` per process, kept alive
across emails. The SDK's own transport is synchronous urllib with a new
connection (and DNS lookup) per email, run in a thread: that cost a job more
than the rest of its work. aiohttp rather than httpx: against a local server,
httpx spent about 3 ms of CPU per request with 20 in flight, aiohttp 0.3. PROVIDER_CONNECT_TIMEOUT_S bounds connecting and
PROVIDER_TIMEOUT_S each read. SendGrid's v3 mail send has no idempotency
key: the idempotency ledger keeps a succeeded send from being repeated.
"""

import json
from collections.abc import Mapping
from typing import Any, Literal

import aiohttp
from sendgrid import SendGridAPIClient  # type: ignore[import-untyped]
from sendgrid.helpers.mail import Mail  # type: ignore[import-untyped]

from app.settings import ProviderSettings
from workers.providers.errors import (
    ProviderError,
    error_for_status,
    not_configured,
    unreachable,
)

PROVIDER = "sendgrid"
_NEEDS = ["SENDGRID_API_KEY", "SENDGRID_FROM"]


class SendGridProvider:
    """SendGrid's v3 `mail/send`."""

    def __init__(
        self,
        *,
        api_key: str | None,
        from_email: str | None,
        api_base: str = "https://api.sendgrid.com",
        timeout_s: float = 20.0,
        connect_timeout_s: float = 5.0,
    ) -> None:
        self._api_key = api_key
        self._from = from_email
        self._api_base = api_base.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(
            sock_connect=connect_timeout_s, sock_read=timeout_s
        )
        self._client: aiohttp.ClientSession | None = None
        self._url = ""

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "SendGridProvider":
        """Build the provider from the service's settings."""
        key = settings.sendgrid_api_key
        return cls(
            api_key=key.get_secret_value() if key is not None else None,
            from_email=settings.sendgrid_from,
            api_base=settings.sendgrid_api_base,
            timeout_s=settings.provider_timeout_s,
            connect_timeout_s=settings.provider_connect_timeout_s,
        )

    async def send(
        self,
        *,
        to: str,
        subject: str | None,
        content: str | None,
        template_id: str | None,
        dynamic_data: dict[str, Any] | None,
        content_type: Literal["text/html", "text/plain"] = "text/html",
    ) -> dict[str, Any]:
        """Send one email from SENDGRID_FROM.

        Give `subject` and `content`, or a dynamic `template_id` with its
        `dynamic_data`; SendGrid rejects a message with neither.

        Args:
            to: The recipient's address.
            subject: The subject line.
            content: The body.
            template_id: A SendGrid dynamic template (`d-...`).
            dynamic_data: The template's data.
            content_type: How `content` is sent.

        Returns:
            `status_code` (202) and `message_id` (SendGrid's X-Message-Id).

        Raises:
            ProviderNotConfigured: SENDGRID_API_KEY or SENDGRID_FROM is unset.
            ProviderError: see `workers.providers.errors`.
        """
        missing = [
            name
            for name, value in zip(_NEEDS, [self._api_key, self._from], strict=True)
            if not value
        ]
        if missing:
            raise not_configured(
                "send-email",
                needs=_NEEDS,
                missing=missing,
                effect="the email was not sent",
            )
        message = Mail(
            from_email=self._from,
            to_emails=to,
            subject=subject,
            plain_text_content=content if content_type == "text/plain" else None,
            html_content=content if content_type == "text/html" else None,
        )
        if template_id is not None:
            message.template_id = template_id
        if dynamic_data is not None:
            message.dynamic_template_data = dynamic_data
        return await self._post(message.get())

    def _open(self) -> aiohttp.ClientSession:
        if self._client is None:
            # The SDK's URL and headers (auth, its User-Agent), on our session.
            sdk = SendGridAPIClient(api_key=self._api_key, host=self._api_base)
            self._url = sdk.client.mail.send._build_url(None)
            self._client = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={
                    **sdk.client.request_headers,
                    "Content-Type": "application/json",
                },
            )
        return self._client

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        client = self._open()
        try:
            async with client.post(
                self._url, data=json.dumps(body).encode(), allow_redirects=False
            ) as response:
                content = await response.read()
                status, headers = response.status, response.headers
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise unreachable(PROVIDER, exc) from exc
        if not 200 <= status < 300:
            raise _translate(status, headers, content)
        return {"status_code": status, "message_id": headers.get("X-Message-Id")}

    async def aclose(self) -> None:
        """Close the session's connections."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()


def _translate(
    status: int, headers: Mapping[str, str], content: bytes
) -> ProviderError:
    code: str | None = None
    message: str | None = None
    try:
        first = json.loads(content)["errors"][0]
        message = first.get("message")
        code = first.get("field") or message
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    return error_for_status(
        provider=PROVIDER,
        http_status=status,
        headers=headers,
        code=code,
        message=message,
    )
