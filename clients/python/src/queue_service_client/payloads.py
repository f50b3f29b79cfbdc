"""Payload models of the job types the service ships: what `data` holds for each.

One model per job type a caller may enqueue, each naming its job type and
queue (`PaymentProcess.JOB_TYPE`, `.QUEUE`). Build them by their snake_case
attribute names (`PaymentProcess(user_id=...)`); they go on the wire by their
camelCase keys (`userId`), the service's JSON. They are the client's own
copies of the service's models: a test of this package checks that each has
the fields and required fields of the service's model for its type.

The models check what a caller can get wrong before sending (types, ranges,
shapes of UUIDs, emails, URLs and phone numbers, required groups); the
service remains the judge and checks again (ISO 4217 currencies, for one).
Unknown keys are refused here, to catch typos: a job type this client does
not model, or extra keys, go through the generic `enqueue(job_type, data)`.
"""

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel

# The service's formats (its `app.domain.formats`), in the dialect both
# Python's and PostgreSQL's regular expressions read; a drift test compares.
UUID_PATTERN = (
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
)
EMAIL_PATTERN = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
EMAIL_MAX_LENGTH = 254
_PORT = r"(?:6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|\d{1,4})"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_HOST = (
    rf"(?:(?:{_LABEL}\.)*[A-Za-z](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?"
    rf"|{_OCTET}(?:\.{_OCTET}){{3}})"
)
HTTP_URL_PATTERN = (
    r"^[Hh][Tt][Tt][Pp][Ss]?://"
    + _HOST
    + rf"(?::{_PORT})?(?:[/?#][A-Za-z0-9._~!$&'()*+,;=:@%/?#-]*)?$"
)
HTTP_URL_MAX_LENGTH = 2083

# Strict: "1500", 1500.0 and true are refused, as the service refuses them.
Cents = Annotated[StrictInt, Field(gt=0, le=1_000_000, description="Amount in cents.")]
E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{1,14}$")]
NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512)]
HeaderToken = Annotated[
    str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\x00-\x1f\x7f]+$")
]
# A three-letter code; the service checks it is an ISO 4217 currency.
Currency = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z]{3}$"), AfterValidator(str.upper)
]
EmailAddress = Annotated[
    str, StringConstraints(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN)
]
HttpUrl = Annotated[
    str, StringConstraints(max_length=HTTP_URL_MAX_LENGTH, pattern=HTTP_URL_PATTERN)
]


def _not_naive(value: object) -> object:
    # A datetime is a date too: without this, a naive one would pass as its date.
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError("Input should have timezone info")
    return value


# A date, or a date and time with its offset (naive times are refused).
Timestamp = Annotated[AwareDatetime | date, BeforeValidator(_not_naive)]
QueueName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
]
JsonObject = dict[str, JsonValue]

_COMPILED_UUID = re.compile(UUID_PATTERN)


def _hyphenated(value: object) -> object:
    # A UUID object is taken as is; text must be the hyphenated form the
    # service takes (a UUID parser alone also reads braces and URNs).
    if isinstance(value, str) and not _COMPILED_UUID.match(value):
        raise ValueError("Input should be a UUID, hyphenated")
    return value


Uuid = Annotated[UUID, BeforeValidator(_hyphenated)]


class Payload(BaseModel):
    """Base of every payload model.

    `callback_url` (`callbackUrl`), on any job type: the service POSTs a
    signed webhook there when the job finishes (succeeded, or failed for good).
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
    )

    JOB_TYPE: ClassVar[str]
    QUEUE: ClassVar[str]
    # Groups of fields (wire names) of which one must be given in full, as the
    # service's model requires.
    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = ()

    callback_url: HttpUrl | None = None

    @model_validator(mode="after")
    def _one_group_present(self) -> "Payload":
        if not self.ONE_OF:
            return self
        given = self.to_data()
        if not any(all(name in given for name in group) for group in self.ONE_OF):
            groups = " or ".join(" and ".join(group) for group in self.ONE_OF)
            raise ValueError(f"{groups} is required")
        return self

    def to_data(self) -> dict[str, JsonValue]:
        """Return the job's `data` as the service stores it: camelCase keys, no nulls."""
        dumped: dict[str, JsonValue] = self.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return dumped


class PaymentProcess(Payload):
    """Charge a customer: a Stripe PaymentIntent, created and confirmed."""

    JOB_TYPE: ClassVar[str] = "payment-process"
    QUEUE: ClassVar[str] = "money"

    user_id: Uuid
    venue_id: Uuid
    event_id: Uuid
    amount: Cents
    currency: Currency = "USD"
    payment_method_id: NonEmpty
    description: Annotated[str, StringConstraints(max_length=1000)] | None = None


class RefundProcess(Payload):
    """Refund all or part of a payment (admin tokens only)."""

    JOB_TYPE: ClassVar[str] = "refund-process"
    QUEUE: ClassVar[str] = "money"

    transaction_id: NonEmpty
    amount: Cents | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    user_id: Uuid | None = None
    venue_id: Uuid | None = None


class PayoutProcess(Payload):
    """Pay a venue out; `payout_id` is your own payout record's id (admin tokens only)."""

    JOB_TYPE: ClassVar[str] = "payout-process"
    QUEUE: ClassVar[str] = "money"

    venue_id: Uuid
    payout_id: Uuid
    amount: Cents
    currency: Currency = "USD"
    method: Literal["instant", "standard"] = "standard"


class NftMint(Payload):
    """Mint a ticket NFT; the seat or the ticket identifies it."""

    JOB_TYPE: ClassVar[str] = "nft-mint"
    QUEUE: ClassVar[str] = "money"
    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (("seatId",), ("ticketId",))

    event_id: Uuid
    user_id: Uuid
    wallet_address: NonEmpty
    seat_id: NonEmpty | None = None
    ticket_id: Uuid | None = None
    metadata: JsonObject | None = None


class SendEmail(Payload):
    """Send an email: a template with data, or a subject with content."""

    JOB_TYPE: ClassVar[str] = "send-email"
    QUEUE: ClassVar[str] = "communication"
    ONE_OF: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("template",),
        ("subject", "content"),
    )

    to: EmailAddress
    template: NonEmpty | None = None
    data: JsonObject | None = None
    subject: NonEmpty | None = None
    content: Annotated[str, StringConstraints(min_length=1)] | None = None


class SendSms(Payload):
    """Send a text message."""

    JOB_TYPE: ClassVar[str] = "send-sms"
    QUEUE: ClassVar[str] = "communication"

    to: E164
    message: Annotated[str, StringConstraints(min_length=1, max_length=1600)]
    template: NonEmpty | None = None


class SendPush(Payload):
    """Send a push notification to a user's devices."""

    JOB_TYPE: ClassVar[str] = "send-push"
    QUEUE: ClassVar[str] = "communication"

    user_id: Uuid
    title: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    data: JsonObject | None = None


class WebhookDeliver(Payload):
    """POST an event to a subscriber (admin tokens only)."""

    JOB_TYPE: ClassVar[str] = "webhook-deliver"
    QUEUE: ClassVar[str] = "communication"

    url: HttpUrl
    event_id: HeaderToken
    event: NonEmpty
    payload: JsonObject
    # What the events are about (`order-42`): a subscriber gets one stream's
    # events one at a time, in order.
    stream: NonEmpty | None = None


class AnalyticsTrack(Payload):
    """Record an analytics event."""

    JOB_TYPE: ClassVar[str] = "analytics-track"
    QUEUE: ClassVar[str] = "background"

    event_type: NonEmpty
    user_id: Uuid | None = None
    venue_id: Uuid | None = None
    properties: JsonObject | None = None
    timestamp: Timestamp | None = None


class CleanupOldData(Payload):
    """Delete data the service owns past its lifetime (admin tokens only)."""

    JOB_TYPE: ClassVar[str] = "cleanup-old-data"
    QUEUE: ClassVar[str] = "background"

    target: Literal["all", "outcomes", "idempotency_keys", "reports"] = "all"
    older_than_days: Annotated[StrictInt, Field(ge=1, le=3650)] | None = None


class GenerateReport(Payload):
    """Write a report over the service's own data (admin tokens only)."""

    JOB_TYPE: ClassVar[str] = "generate-report"
    QUEUE: ClassVar[str] = "background"

    report_type: Literal["jobs", "failures", "throughput"]
    format: Literal["csv", "json"] = "csv"
    queue: QueueName | None = None
    period_start: Timestamp | None = None
    period_end: Timestamp | None = None


PAYLOAD_MODELS: Mapping[str, type[Payload]] = {
    model.JOB_TYPE: model
    for model in (
        PaymentProcess,
        RefundProcess,
        PayoutProcess,
        NftMint,
        SendEmail,
        SendSms,
        SendPush,
        WebhookDeliver,
        AnalyticsTrack,
        CleanupOldData,
        GenerateReport,
    )
}

# Job types of the service's catalogue this client gives no model, and why.
NOT_EXPOSED: Mapping[str, str] = {
    "stripe-event": "only POST /webhooks/stripe enqueues it, on Stripe's signature",
    "deliver-alert": "the service pages its on-call number itself",
    "rescue-stalled-jobs": "a periodic task of the service",
    "age-priorities": "a periodic task of the service",
    "run-retention": "a periodic task of the service",
    "run-schedules": "a periodic task of the service",
    "monitor": "a periodic task of the service",
}

# The queues of the job types above, for the generic enqueue of a known type.
QUEUE_OF: Mapping[str, str] = {name: m.QUEUE for name, m in PAYLOAD_MODELS.items()}
