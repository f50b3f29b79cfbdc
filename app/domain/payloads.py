"""Payload models of the job types: what `data` must hold for each type.

The HTTP API and the Python enqueue validate with these before calling
`queue.enqueue`, which checks the same rules for SQL producers (written from
these models by `migrate`: `app.domain.payload_rules`); workers validate
again what they claim.

Naming: attributes are snake_case (`payment.user_id`); each field's alias is
its key in the JSON, the old service's camelCase (`userId`). Only the camelCase
key fills a field: models validate by alias alone (no `populate_by_name`), so
a snake_case key such as `user_id` is not a synonym but an unknown key, kept
with the others as it was before. Unknown keys are kept (`extra="allow"`):
data is stored exactly as given, and a model dumps by alias, so what a task
forwards has the caller's keys.

Old clients: where the old service named a field otherwise (a payment's
`paymentMethod`), the model reads that name too (`old_name`), and where it
had a default (a payment's currency, USD), so does the model.
"""

import re
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_extra_types.currency_code import ISO4217

from app.domain import formats

# Strict: "1500", 1500.0 and true are refused, not coerced. The amount is part of
# the payment's idempotency key, which is rendered from the JSON as given.
Cents = Annotated[StrictInt, Field(gt=0, le=1_000_000, description="Amount in cents.")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]
# An id that goes into a header and a signed line: no control characters.
HeaderToken = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\x00-\x1f\x7f]+$")
]


def _shaped(pattern: str, what: str, max_length: int | None = None) -> BeforeValidator:
    # The text must have the shape the enqueue path checks too (the same
    # pattern, `app.domain.formats`), before its type parses it: a UUID
    # parser alone also takes braces and URNs, a datetime parser numbers.
    compiled = re.compile(pattern)

    def check(value: object) -> object:
        if not isinstance(value, str) or not compiled.match(value):
            raise ValueError(f"Input should be {what}")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"String should have at most {max_length} characters")
        return value

    return BeforeValidator(check)


Uuid = Annotated[UUID, _shaped(formats.UUID, "a UUID, hyphenated")]
Timestamp = Annotated[
    datetime, _shaped(formats.TIMESTAMP, "an ISO 8601 date or date and time")
]
HttpUrl = Annotated[
    AnyHttpUrl,
    _shaped(formats.HTTP_URL, "an http(s) URL", formats.HTTP_URL_MAX_LENGTH),
]
EmailAddress = Annotated[
    str,
    StringConstraints(max_length=formats.EMAIL_MAX_LENGTH, pattern=formats.EMAIL),
]
# Any case, as callers have always written it ("usd"); read in capitals.
Currency = ISO4217


# The currency of money jobs that name none, as the old service defaulted it.
USD = ISO4217("USD")


def old_name(name: str, old: str) -> AliasChoices:
    """Read a field under its wire `name`, else under the old service's name for it.

    The new name is first, so it wins when a caller sends both (the old key is
    then kept with the other unknown keys). The enqueue path reads the same
    names (`queue.payload_fields.aliases`, from `app.domain.payload_rules`),
    so the API, SQL producers and the worker agree.
    """
    return AliasChoices(name, old)


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

    callback_url: HttpUrl | None = None

    # Groups of fields (wire names) of which one must be present in full and
    # not null; the enqueue path checks the same (`queue.job_types.payload_one_of`).
    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = ()

    @model_validator(mode="after")
    def _one_group_present(self) -> "Payload":
        if not self.ONE_OF:
            return self
        given = self.model_dump(by_alias=True, exclude_none=True)
        if not any(all(name in given for name in group) for group in self.ONE_OF):
            raise ValueError(one_of_message(self.ONE_OF))
        return self


class PaymentProcess(Payload):
    """Charge a customer: a Stripe PaymentIntent, created and confirmed."""

    user_id: Uuid
    venue_id: Uuid
    event_id: Uuid
    amount: Cents
    # The old service's default, for its clients that never sent one.
    currency: Currency = USD
    payment_method_id: NonEmpty = Field(
        validation_alias=old_name("paymentMethodId", "paymentMethod")
    )
    # Stripe's own limit for a PaymentIntent's description.
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None


class RefundProcess(Payload):
    """Refund all or part of a payment."""

    transaction_id: NonEmpty
    amount: Cents | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    user_id: Uuid | None = None
    venue_id: Uuid | None = None


class PayoutProcess(Payload):
    """Pay a venue out."""

    venue_id: Uuid
    payout_id: Uuid
    amount: Cents
    currency: Currency = USD
    method: Literal["instant", "standard"] = Field(
        default="standard", validation_alias=old_name("method", "type")
    )


class NftMint(Payload):
    """Mint a ticket NFT; the seat or the ticket identifies it."""

    event_id: Uuid
    user_id: Uuid
    wallet_address: NonEmpty
    seat_id: NonEmpty | None = None
    ticket_id: Uuid | None = None
    metadata: dict[str, Any] | None = None

    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (("seatId",), ("ticketId",))


class SendEmail(Payload):
    """Send an email: a template with data, or a subject with content."""

    to: EmailAddress
    template: NonEmpty | None = None
    data: dict[str, Any] | None = None
    subject: NonEmpty | None = None
    content: Annotated[str, StringConstraints(min_length=1)] | None = None

    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("template",),
        ("subject", "content"),
    )


class SendSms(Payload):
    """Send a text message."""

    to: E164
    message: Annotated[str, StringConstraints(min_length=1, max_length=1600)]
    template: NonEmpty | None = None


class SendPush(Payload):
    """Send a push notification to a user's devices."""

    user_id: Uuid
    title: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    data: dict[str, Any] | None = None


class WebhookDeliver(Payload):
    """POST an event to a subscriber."""

    url: HttpUrl
    event_id: HeaderToken
    event: NonEmpty
    payload: dict[str, Any]
    # What the events are about (`order-42`): a subscriber gets one stream's
    # events one at a time, in order (the type's ordering template).
    stream: NonEmpty | None = None


class AnalyticsTrack(Payload):
    """Record an analytics event."""

    event_type: NonEmpty
    user_id: Uuid | None = None
    venue_id: Uuid | None = None
    properties: dict[str, Any] | None = Field(
        default=None, validation_alias=old_name("properties", "data")
    )
    timestamp: Timestamp | None = None


class CleanupOldData(Payload):
    """Delete data the service owns past its lifetime."""

    # The old `dataType` names what to clean too: its old values (sessions,
    # temp_files, old_logs) name stores this service does not have, and are
    # refused rather than read as "all".
    target: Literal["all", "outcomes", "idempotency_keys", "reports"] = Field(
        default="all", validation_alias=old_name("target", "dataType")
    )
    older_than_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None


class GenerateReport(Payload):
    """Write a report over the service's own data."""

    report_type: Literal["jobs", "failures", "throughput"]
    format: Literal["csv", "json"] = "csv"
    queue: QueueName | None = None
    period_start: Timestamp | None = Field(
        default=None, validation_alias=old_name("periodStart", "startDate")
    )
    period_end: Timestamp | None = Field(
        default=None, validation_alias=old_name("periodEnd", "endDate")
    )


class DeliverAlert(Payload):
    """Page the on-call number about an alert (made by the monitor and POST /alerts/test)."""

    alert_id: Annotated[StrictInt, Field(gt=0)]
    channel: Literal["sms", "voice"]


# Stripe's ids (`evt_...`, `pi_...`) and names, as Stripe writes them: visible
# ASCII, so they are safe in keys, locks and log lines.
StripeId = Annotated[str, StringConstraints(pattern=r"^[!-~]{1,255}$")]
StripeEventId = Annotated[str, StringConstraints(pattern=r"^evt_[!-~]{1,250}$")]
StripeEventType = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)+$", max_length=255)
]
StripeObjectType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.]{1,100}$")]
StripeApiVersion = Annotated[str, StringConstraints(max_length=64)]


class StripeObject(BaseModel):
    """The object of a Stripe event, as far as this service reads it.

    Stripe's own field names (`payment_intent`, `amount_refunded`), not
    camelCase: the object is kept as Stripe wrote it, less what this service
    does not read (`app.domain.stripe_events`).
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    object: StripeObjectType
    id: StripeId | None = None
    created: Annotated[int, Field(ge=0)] | None = None


class StripeEvent(Payload):
    """An event Stripe sent to POST /webhooks/stripe, with its object cut down."""

    id: StripeEventId
    type: StripeEventType
    created: Annotated[StrictInt, Field(ge=0)]
    livemode: StrictBool
    api_version: StripeApiVersion | None = None
    # The stream the event runs in (the type's ordering template): the
    # PaymentIntent, else the charge, its object belongs to, else the object.
    object_id: StripeId | None = None
    object: StripeObject


def one_of_message(groups: tuple[tuple[str, ...], ...]) -> str:
    """Say which groups of fields may be given: "seatId or ticketId is required"."""
    return " or ".join(" and ".join(group) for group in groups) + " is required"


def json_pointer(location: tuple[int | str, ...], prefix: str = "") -> str:
    """Return the RFC 6901 JSON Pointer of a pydantic error location."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in location]
    return prefix + "".join("/" + part for part in parts)
