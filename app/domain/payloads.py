"""Payload models of the job types: what `data` must hold for each type.

The HTTP API and the Python enqueue validate with these before calling
`queue.enqueue`; workers validate again, since the SQL path accepts any object.

Naming: attributes are snake_case (`payment.user_id`); each field's alias is
its key in the JSON, the old service's camelCase (`userId`). Only the camelCase
key fills a field: models validate by alias alone (no `populate_by_name`), so
a snake_case key such as `user_id` is not a synonym but an unknown key, kept
with the others as it was before. Unknown keys are kept (`extra="allow"`):
data is stored exactly as given, and a model dumps by alias, so what a task
forwards has the caller's keys.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_extra_types.currency_code import ISO4217

# Strict: "1500", 1500.0 and true are refused, not coerced. The amount is part of
# the payment's idempotency key, which is rendered from the JSON as given.
Cents = Annotated[StrictInt, Field(gt=0, le=1_000_000, description="Amount in cents.")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]
# An id that goes into a header and a signed line: no control characters.
HeaderToken = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# A queue's name as callers may write it (`money`, or the old `money-queue`):
# letters, digits, `-` and `_`, so that it is safe in a file name too.
QueueName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
]


class Payload(BaseModel):
    """Base of every payload model.

    `callbackUrl`, on any job type: a signed webhook is sent there when the job
    finishes (succeeded, or failed for good).
    """

    model_config = ConfigDict(
        extra="allow",
        frozen=True,
        strict=False,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )

    callback_url: AnyHttpUrl | None = None


class PaymentProcess(Payload):
    """Charge a customer: a Stripe PaymentIntent, created and confirmed."""

    user_id: UUID
    venue_id: UUID
    event_id: UUID
    amount: Cents
    currency: ISO4217
    payment_method_id: NonEmpty
    # Stripe's own limit for a PaymentIntent's description.
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None


class RefundProcess(Payload):
    """Refund all or part of a payment."""

    transaction_id: NonEmpty
    amount: Cents | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    user_id: UUID | None = None
    venue_id: UUID | None = None


class PayoutProcess(Payload):
    """Pay a venue out."""

    venue_id: UUID
    payout_id: UUID
    amount: Cents
    currency: ISO4217
    method: Literal["instant", "standard"] = "standard"


class NftMint(Payload):
    """Mint a ticket NFT; the seat or the ticket identifies it."""

    event_id: UUID
    user_id: UUID
    wallet_address: NonEmpty
    seat_id: NonEmpty | None = None
    ticket_id: UUID | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _seat_or_ticket(self) -> "NftMint":
        if self.seat_id is None and self.ticket_id is None:
            raise ValueError("seatId or ticketId is required")
        return self


class SendEmail(Payload):
    """Send an email: a template with data, or a subject with content."""

    to: EmailStr
    template: NonEmpty | None = None
    data: dict[str, Any] | None = None
    subject: NonEmpty | None = None
    content: Annotated[str, StringConstraints(min_length=1)] | None = None

    @model_validator(mode="after")
    def _template_or_content(self) -> "SendEmail":
        if self.template is None and (self.subject is None or self.content is None):
            raise ValueError("template, or subject and content, is required")
        return self


class SendSms(Payload):
    """Send a text message."""

    to: E164
    message: Annotated[str, StringConstraints(min_length=1, max_length=1600)]
    template: NonEmpty | None = None


class SendPush(Payload):
    """Send a push notification to a user's devices."""

    user_id: UUID
    title: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    data: dict[str, Any] | None = None


class WebhookDeliver(Payload):
    """POST an event to a subscriber."""

    url: AnyHttpUrl
    event_id: HeaderToken
    event: NonEmpty
    payload: dict[str, Any]
    # What the events are about (`order-42`): a subscriber gets one stream's
    # events one at a time, in order (the type's ordering template).
    stream: NonEmpty | None = None


class AnalyticsTrack(Payload):
    """Record an analytics event."""

    event_type: NonEmpty
    user_id: UUID | None = None
    venue_id: UUID | None = None
    properties: dict[str, Any] | None = None
    timestamp: datetime | None = None


class CleanupOldData(Payload):
    """Delete data the service owns past its lifetime."""

    target: Literal["all", "outcomes", "idempotency_keys", "reports"] = "all"
    older_than_days: Annotated[int, Field(ge=1, le=3650)] | None = None


class GenerateReport(Payload):
    """Write a report over the service's own data."""

    report_type: Literal["jobs", "failures", "throughput"]
    format: Literal["csv", "json"] = "csv"
    queue: QueueName | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None


class DeliverAlert(Payload):
    """Page the on-call number about an alert (made by the monitor and POST /alerts/test)."""

    alert_id: Annotated[int, Field(gt=0)]
    channel: Literal["sms", "voice"]


def json_pointer(location: tuple[int | str, ...], prefix: str = "") -> str:
    """Return the RFC 6901 JSON Pointer of a pydantic error location."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return prefix + "".join("/" + part for part in parts)
