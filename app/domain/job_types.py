"""The job-type catalogue: every job type the service ships, in one place.

Each `JobType` says which queue runs it, what its `data` must hold, its
default priority, the idempotency-key template that dedupes it, the provider
(circuit breaker) and rate-limit bucket its calls go through, how long a
succeeded job is kept when its queue's policy is not the rule, and which roles
may enqueue it. Everything else is derived from this module:

- `queue-service migrate` writes these types' rows of `queue.job_types`
  (`app.db.job_type_rows`); rows of types an operator added at run time in
  SQL are left alone, and the database validates their jobs alone.
- the HTTP API and the Python enqueue validate `data` with `payload`
  (`validate_payload` here);
- the worker registers one task body per type and refuses to start when a
  type has no body or a body has no type (`workers.tasks.register_tasks`);
- a task's provider calls go through its type's provider and bucket
  (`workers.tasks.calls.JobCalls`).

Other packages add types without forking the service: entry points of group
`queue_service.job_types` (`app.domain.job_type_plugins`, docs/job-types.md).
Each process's entry point loads them into `CATALOGUE` once, at start, so
every lookup here sees them; `BUILT_IN` is what the service ships.

Key templates (and ordering templates): `{field}` is a payload key (the JSON's camelCase), `{a|b}` the
first present of a and b, `{date}` / `{hour}` the UTC enqueue date and hour.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import MappingProxyType

from pydantic import ValidationError

from app.domain.access import ENQUEUERS, Role
from app.domain.errors import PayloadInvalid
from app.domain.json_bounds import check_json_bounds
from app.domain.payloads import (
    AnalyticsTrack,
    CleanupOldData,
    DeliverAlert,
    GenerateReport,
    NftMint,
    Payload,
    PaymentProcess,
    PayoutProcess,
    RefundProcess,
    SendEmail,
    SendPush,
    SendSms,
    StripeEvent,
    WebhookDeliver,
    json_pointer,
)

# Who may enqueue a type over HTTP. Decided per type, by what its jobs do:
# - nobody: the service's own jobs (periodic tasks, the monitor, pages to the
#   on-call phone) and Stripe's events (POST /webhooks/stripe, signed by
#   Stripe); an HTTP caller must not trigger them;
# - admin only: moving money out (refunds, payouts), webhooks to any URL,
#   deleting data, reports over every queue; the ticketing backend's own
#   services call with an admin token;
# - admin and venue admins (their own venues, by data.venueId): messages to
#   people and ticket mints, which a venue's staff sends;
# - every enqueuer, users included: paying for one's own tickets and
#   recording analytics.
NOBODY: frozenset[Role] = frozenset()
ADMINS = frozenset({Role.ADMIN})
STAFF = frozenset({Role.ADMIN, Role.VENUE_ADMIN})


@dataclass(frozen=True)
class JobType:
    """One job type and everything that follows from it."""

    name: str
    queue: str
    description: str
    default_priority: int
    payload: type[Payload] | None = None
    key_template: str | None = None
    provider: str | None = None
    bucket: str | None = None
    # Overrides the queue's keep_succeeded (nft-mint: a year, for disputes).
    keep_succeeded: timedelta | None = None
    enqueue_roles: frozenset[Role] = ADMINS
    # Jobs of one rendered key run one at a time, in enqueue order, unless the
    # caller gives its own ordering_key (a missing field: no ordering).
    ordering_template: str | None = None


_TYPES = (
    JobType(
        "payment-process",
        "money",
        "Create and confirm a Stripe PaymentIntent.",
        10,
        PaymentProcess,
        "payment-{venueId}-{userId}-{eventId}-{amount}",
        "stripe",
        "stripe",
        enqueue_roles=ENQUEUERS,
    ),
    JobType(
        "refund-process",
        "money",
        "Refund a Stripe payment.",
        10,
        RefundProcess,
        "refund-{transactionId}",
        "stripe",
        "stripe",
    ),
    JobType(
        "payout-process",
        "money",
        "Pay a venue out through Stripe; payoutId is the caller's own payout record id.",
        10,
        PayoutProcess,
        "payout-{venueId}-{payoutId}",
        "stripe",
        "stripe",
    ),
    JobType(
        "nft-mint",
        "money",
        "Mint a ticket NFT through the minting service.",
        7,
        NftMint,
        "nft-{eventId}-{seatId|ticketId}",
        "minting",
        "minting",
        keep_succeeded=timedelta(days=365),
        enqueue_roles=STAFF,
    ),
    # Only POST /webhooks/stripe enqueues it, once Stripe's signature holds:
    # an HTTP caller with a token must not make up Stripe's word.
    JobType(
        "stripe-event",
        "money",
        "Match an event Stripe sent to the money job that made its object; "
        "forward it to that job's callback.",
        8,
        StripeEvent,
        "stripe-event-{id}",
        enqueue_roles=NOBODY,
        # One stream per payment (objectId: app.domain.stripe_events).
        ordering_template="stripe-{objectId}",
    ),
    JobType(
        "send-email",
        "communication",
        "Send an email through SendGrid.",
        5,
        SendEmail,
        "email-{template|subject}-{to}-{date}",
        "sendgrid",
        "sendgrid",
        enqueue_roles=STAFF,
    ),
    JobType(
        "send-sms",
        "communication",
        "Send an SMS through Twilio.",
        5,
        SendSms,
        "sms-{to}-{template|message}-{hour}",
        "twilio",
        "twilio-sms",
        enqueue_roles=STAFF,
    ),
    JobType(
        "send-push",
        "communication",
        "Send a push notification through the push gateway.",
        5,
        SendPush,
        "push-{userId}-{title}-{hour}",
        "push",
        "internal",
        enqueue_roles=STAFF,
    ),
    JobType(
        "webhook-deliver",
        "communication",
        "POST a signed JSON event to a subscriber URL.",
        5,
        WebhookDeliver,
        "webhook-{eventId}-{url}",
        "webhook",
        "internal",
        # Per subscriber and stream; per subscriber when no stream is given.
        ordering_template="webhook-{url}-{stream|url}",
    ),
    JobType(
        "analytics-track",
        "background",
        "Record an analytics event.",
        3,
        AnalyticsTrack,
        enqueue_roles=ENQUEUERS,
    ),
    JobType(
        "cleanup-old-data",
        "background",
        "Delete data the service owns past its lifetime.",
        1,
        CleanupOldData,
    ),
    JobType(
        "generate-report",
        "background",
        "Write a CSV or JSON report over the service's own data.",
        3,
        GenerateReport,
    ),
    JobType(
        "rescue-stalled-jobs",
        "maintenance",
        "Return jobs of workers that stopped heartbeating to their queue.",
        10,
        enqueue_roles=NOBODY,
    ),
    JobType(
        "age-priorities",
        "maintenance",
        "Raise the priority of jobs waiting past their queue's priority_aging_s.",
        9,
        enqueue_roles=NOBODY,
    ),
    JobType(
        "run-retention",
        "maintenance",
        "Delete finished jobs, outcomes, keys, metrics and alerts past their retention.",
        5,
        enqueue_roles=NOBODY,
    ),
    JobType(
        "run-schedules",
        "maintenance",
        "Enqueue the due runs of active schedules (queue.schedules).",
        8,
        enqueue_roles=NOBODY,
    ),
    JobType(
        "monitor",
        "maintenance",
        "Snapshot the queues, check thresholds and database health, raise alerts.",
        9,
        enqueue_roles=NOBODY,
    ),
    # SMS and voice pages draw from twilio-sms or twilio-voice, both in the
    # twilio group: the task picks the channel's bucket.
    JobType(
        "deliver-alert",
        "maintenance",
        "Page the on-call number about an alert by SMS or voice call.",
        10,
        DeliverAlert,
        "alert-{alertId}-{channel}",
        "twilio",
        "twilio",
        enqueue_roles=NOBODY,
    ),
)

# The types the service ships.
BUILT_IN: Mapping[str, JobType] = MappingProxyType({t.name: t for t in _TYPES})
_CATALOGUE: dict[str, JobType] = dict(BUILT_IN)
# Every type of this process: the built-in ones, and the plugins' once loaded
# (`app.domain.job_type_plugins`). Read-only; `extend_catalogue` adds to it.
CATALOGUE: Mapping[str, JobType] = MappingProxyType(_CATALOGUE)


def extend_catalogue(job_types: Sequence[JobType]) -> None:
    """Add job types to `CATALOGUE`: all of them, or none.

    Only `app.domain.job_type_plugins.load_job_type_plugins` calls it, once
    per process, with types it checked.

    Raises:
        ValueError: a type's name is catalogued already.
    """
    names = [job_type.name for job_type in job_types]
    taken = sorted(set(names) & set(_CATALOGUE)) or sorted(
        {name for name in names if names.count(name) > 1}
    )
    if taken:
        raise ValueError(f"job types catalogued twice: {', '.join(taken)}")
    _CATALOGUE.update((job_type.name, job_type) for job_type in job_types)


def validate_payload(
    job_type: str, data: object, *, pointer_prefix: str = "/data"
) -> None:
    """Check `data` against the job type's payload model.

    Every payload first meets the bounds of `app.domain.json_bounds` (no NUL,
    limited nesting). Types without a model (the periodic ones, and types
    added at run time in SQL) are then left to the database, which knows
    every type.

    Raises:
        PayloadInvalid: with one `{detail, pointer}` per field error.
    """
    check_json_bounds(data, pointer_prefix=pointer_prefix)
    entry = CATALOGUE.get(job_type)
    if entry is None or entry.payload is None:
        return
    if not isinstance(data, dict):
        raise PayloadInvalid(
            f"data must be a JSON object, got {type(data).__name__}",
            errors=[{"detail": "must be a JSON object", "pointer": pointer_prefix}],
        )
    try:
        entry.payload.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "detail": error["msg"],
                "pointer": json_pointer(error["loc"], pointer_prefix),
            }
            for error in exc.errors(include_url=False)
        ]
        summary = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors)
        raise PayloadInvalid(
            f"invalid data for job type {job_type}: {summary}", errors=errors
        ) from exc


def may_enqueue(role: Role, job_type: str) -> bool:
    """Return True when `role` may enqueue `job_type` over HTTP.

    Types an operator added at run time in SQL, unknown here, are admin-only.
    """
    entry = CATALOGUE.get(job_type)
    return role in (entry.enqueue_roles if entry else ADMINS)
