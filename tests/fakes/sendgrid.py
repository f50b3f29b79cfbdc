"""A fake SendGrid v3 API: `POST /v3/mail/send`.

It checks the body as SendGrid does in outline (personalizations with
recipients, a sender, content or a template) and answers 400
`{"errors": [{"message", "field", "help"}]}` otherwise; a good message gets
202 with an empty body and `X-Message-Id`.
"""

import secrets
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Answer, FakeServer, RecordedRequest

DEFAULT_API_KEY = "SG.fake-key.0123456789abcdef"


@dataclass(frozen=True)
class SentEmail:
    """A message SendGrid accepted."""

    message_id: str
    body: dict[str, Any]

    @property
    def to(self) -> list[str]:
        """Every recipient of every personalization."""
        return [
            recipient["email"]
            for personalization in self.body["personalizations"]
            for recipient in personalization.get("to", [])
        ]

    @property
    def from_email(self) -> str:
        return str(self.body["from"]["email"])

    @property
    def subject(self) -> str | None:
        return self.body.get("subject")

    @property
    def template_id(self) -> str | None:
        return self.body.get("template_id")

    @property
    def content(self) -> list[dict[str, str]]:
        return list(self.body.get("content", []))


def _errors(status: int, message: str, field: str | None) -> Answer:
    return Answer.json(
        status, {"errors": [{"message": message, "field": field, "help": None}]}
    )


class FakeSendGrid(FakeServer):
    """SendGrid's mail send endpoint."""

    name = "sendgrid"

    def __init__(
        self, *, api_key: str = DEFAULT_API_KEY, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.reset_state()

    def reset_state(self) -> None:
        self.sent: list[SentEmail] = []

    def state(self) -> dict[str, Any]:
        return {
            "sent": [{"message_id": s.message_id, "body": s.body} for s in self.sent]
        }

    def error_body(self, status: int) -> Any:
        message = "too many requests" if status == 429 else f"injected failure {status}"
        return {"errors": [{"message": message, "field": None, "help": None}]}

    def authenticate(self, request: RecordedRequest) -> Answer | None:
        if request.bearer() == self.api_key:
            return None
        return _errors(
            401,
            "The provided authorization grant is invalid, expired, or revoked",
            None,
        )

    def answer(self, request: RecordedRequest) -> Answer:
        if (request.method, request.path) != ("POST", "/v3/mail/send"):
            return _errors(404, "resource not found", None)
        body = request.json
        if not isinstance(body, dict):
            return _errors(400, "Bad Request", None)
        problem = _problem(body)
        if problem is not None:
            return _errors(400, *problem)
        message_id = secrets.token_urlsafe(16)
        self.sent.append(SentEmail(message_id=message_id, body=body))
        return Answer(202, b"", {"X-Message-Id": message_id})


def _problem(body: dict[str, Any]) -> tuple[str, str] | None:
    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        return (
            "The personalizations field is required and must have at least one personalization.",
            "personalizations",
        )
    for index, personalization in enumerate(personalizations):
        to = personalization.get("to") if isinstance(personalization, dict) else None
        if not to or not all("@" in str(r.get("email", "")) for r in to):
            return (
                "The to array is required for all personalization objects, and must "
                "have at least one email object with a valid email address.",
                f"personalizations.{index}.to",
            )
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        return (
            "The from object must be provided for every email send. It is an object "
            "that requires an email parameter, but may also contain a name parameter.",
            "from.email",
        )
    if body.get("template_id"):
        return None
    if not body.get("subject") and not all(p.get("subject") for p in personalizations):
        return (
            "The subject is required. You can get around this requirement if you use "
            "a template with a subject defined or if every personalization has a "
            "subject defined.",
            "subject",
        )
    content = body.get("content")
    if not isinstance(content, list) or not any(c.get("value") for c in content):
        return (
            "Unless a valid template_id is provided, the content parameter is "
            "required. There must be at least one defined content block. We "
            "typically suggest both text/plain and text/html blocks are included, "
            "but only one block is required.",
            "content",
        )
    return None
