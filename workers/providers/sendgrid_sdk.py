"""SendGrid's official SDK: the URL, headers and body of a v3 mail send.

The SDK is the optional extra `queue-service[sendgrid]`, so only
`workers.providers.sendgrid` imports this module, when it first sends (or
warms up); without the SDK that import fails and the job fails with
`ProviderNotConfigured`. The request itself goes on the provider's own
session, not on the SDK's transport (see `workers.providers.sendgrid`).
"""

from typing import Any, Literal

from sendgrid import SendGridAPIClient  # type: ignore[import-untyped]
from sendgrid.helpers.mail import Mail  # type: ignore[import-untyped]


class MailSend:
    """SendGrid's v3 `mail/send` as the SDK builds it.

    Attributes:
        url: The endpoint, under the configured API base.
        headers: The SDK's headers (auth, its User-Agent) and the content type.
    """

    def __init__(self, *, api_key: str, api_base: str) -> None:
        sdk = SendGridAPIClient(api_key=api_key, host=api_base)
        self.url: str = sdk.client.mail.send._build_url(None)
        self.headers: dict[str, str] = {
            **sdk.client.request_headers,
            "Content-Type": "application/json",
        }

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
    ) -> dict[str, Any]:
        """Return the JSON body of one email; see `SendGridProvider.send`."""
        message = Mail(
            from_email=from_email,
            to_emails=to,
            subject=subject,
            plain_text_content=content if content_type == "text/plain" else None,
            html_content=content if content_type == "text/html" else None,
        )
        if template_id is not None:
            message.template_id = template_id
        if dynamic_data is not None:
            message.dynamic_template_data = dynamic_data
        body: dict[str, Any] = message.get()
        return body
