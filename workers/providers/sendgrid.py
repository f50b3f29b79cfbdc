"""SendGrid: transactional email, the request built by the official SDK.

The SDK builds the message (`sendgrid.helpers.mail.Mail`), the URL and the
headers, in `workers.providers.sendgrid_sdk`. The SDK is the optional extra
`queue-service[sendgrid]`: this module does not import it, so the worker
starts without it; an email then fails with `ProviderNotConfigured`, as it
does without credentials, and nothing is sent.

The request is sent on one `aiohttp.ClientSession` per process, kept alive
across emails. The SDK's own transport is synchronous urllib with a new
connection (and DNS lookup) per email, run in a thread: that cost a job more
than the rest of its work. aiohttp rather than httpx: against a local server,
httpx spent about 3 ms of CPU per request with 20 in flight, aiohttp 0.3.
PROVIDER_CONNECT_TIMEOUT_S bounds connecting and PROVIDER_TIMEOUT_S each
read. SendGrid's v3 mail send has no idempotency key: the idempotency ledger
keeps a succeeded send from being repeated.
"""

import json
import logging
from collections.abc import Mapping
from typing import Any, Literal, Protocol

import aiohttp

from app.domain.errors import ProviderNotConfigured
from app.settings import ProviderSettings
from workers.providers.errors import (
    ProviderError,
    error_for_status,
    is_outside_import,
    not_configured,
    sdk_not_installed,
    unreachable,
)

logger = logging.getLogger(__name__)

PROVIDER = "sendgrid"
EXTRA = "sendgrid"
_NEEDS = ["SENDGRID_API_KEY", "SENDGRID_FROM"]


class _MailSend(Protocol):
    """What the provider uses of `workers.providers.sendgrid_sdk.MailSend`."""

    url: str
    headers: dict[str, str]

    def body(
        self,
        *,
        from_email: str,
        to: str,
        subject: str | None,
        content: str | None,
        template_id: str | None,
        dynamic_data: dict[str, Any] | None,
        content_type: Literal["text/html", "text/plain"],
    ) -> dict[str, Any]: ...


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
        self._mail_send: _MailSend | None = None

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
            ProviderNotConfigured: SENDGRID_API_KEY or SENDGRID_FROM is unset,
                or the SendGrid SDK is not installed.
            ProviderError: see `workers.providers.errors`.
        """
        mail_send, sender = self._mail_send_for("send-email", "the email was not sent")
        body = mail_send.body(
            from_email=sender,
            to=to,
            subject=subject,
            content=content,
            template_id=template_id,
            dynamic_data=dynamic_data,
            content_type=content_type,
        )
        return await self._post(mail_send, body)

    @property
    def configured(self) -> bool:
        """Whether the API key and the sender are set."""
        return bool(self._api_key and self._from)

    def warm_up(self) -> None:
        """Import the SDK and build the request's URL and headers, if configured.

        Without the SDK this logs a warning and the worker starts all the
        same; each email job then fails, naming the extra to install.
        """
        if not self.configured:
            return
        try:
            self._mail_send_for("warm-up", "")
        except ProviderNotConfigured:
            logger.warning(
                "The SendGrid SDK is not installed; email jobs will fail.",
                extra={
                    "action": "provider_sdk_missing",
                    "provider": PROVIDER,
                    "install": f"queue-service[{EXTRA}]",
                },
            )

    def _mail_send_for(self, what: str, effect: str) -> tuple[_MailSend, str]:
        api_key, sender = self._api_key, self._from
        if not (api_key and sender):
            missing = [
                name
                for name, value in zip(_NEEDS, [api_key, sender], strict=True)
                if not value
            ]
            raise not_configured(what, needs=_NEEDS, missing=missing, effect=effect)
        if self._mail_send is None:
            try:
                # Here, not at the top: the SDK is an optional extra.
                from workers.providers.sendgrid_sdk import MailSend
            except ImportError as exc:
                if not is_outside_import(exc):
                    raise
                raise sdk_not_installed(
                    what, sdk="SendGrid", extra=EXTRA, effect=effect
                ) from exc
            self._mail_send = MailSend(api_key=api_key, api_base=self._api_base)
        return self._mail_send, sender

    def _open(self, mail_send: _MailSend) -> aiohttp.ClientSession:
        if self._client is None:
            # The SDK's URL and headers (auth, its User-Agent), on our session.
            self._client = aiohttp.ClientSession(
                timeout=self._timeout, headers=mail_send.headers
            )
        return self._client

    async def _post(self, mail_send: _MailSend, body: dict[str, Any]) -> dict[str, Any]:
        client = self._open(mail_send)
        try:
            async with client.post(
                mail_send.url, data=json.dumps(body).encode(), allow_redirects=False
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
