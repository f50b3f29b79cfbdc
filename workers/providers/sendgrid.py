"""SendGrid: transactional email through the official SDK.

The SDK is synchronous (urllib underneath), so each send runs in a worker
thread. urllib has one socket timeout for connecting and for each read, so
PROVIDER_TIMEOUT_S bounds both; PROVIDER_CONNECT_TIMEOUT_S does not apply.
SendGrid's v3 mail send has no idempotency key: the idempotency ledger keeps
a succeeded send from being repeated.
"""

import asyncio
import http.client
import json
import urllib.error
from typing import Any, Literal

from python_http_client.exceptions import HTTPError  # type: ignore[import-untyped]
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
    ) -> None:
        self._api_key = api_key
        self._from = from_email
        self._api_base = api_base.rstrip("/")
        self._timeout_s = timeout_s

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "SendGridProvider":
        """Build the provider from the service's settings."""
        key = settings.sendgrid_api_key
        return cls(
            api_key=key.get_secret_value() if key is not None else None,
            from_email=settings.sendgrid_from,
            api_base=settings.sendgrid_api_base,
            timeout_s=settings.provider_timeout_s,
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
        body = message.get()
        # The SDK blocks: a worker thread keeps the event loop free.
        return await asyncio.to_thread(self._post, body)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        # One SDK client per send: it keeps mutable headers and opens a new
        # connection per request anyway.
        client = SendGridAPIClient(api_key=self._api_key, host=self._api_base)
        client.client.timeout = self._timeout_s
        try:
            response = client.send(body)
        except HTTPError as exc:
            raise _translate(exc) from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise unreachable(PROVIDER, exc) from exc
        return {
            "status_code": int(response.status_code),
            "message_id": response.headers.get("X-Message-Id"),
        }


def _translate(exc: HTTPError) -> ProviderError:
    code: str | None = None
    message: str | None = None
    try:
        errors = json.loads(exc.body)["errors"]
        first = errors[0]
        message = first.get("message")
        code = first.get("field") or message
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        pass
    return error_for_status(
        provider=PROVIDER,
        http_status=int(exc.status_code),
        headers=exc.headers,
        code=code,
        message=message,
    )
