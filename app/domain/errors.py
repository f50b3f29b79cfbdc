"""Errors of the service. Each docstring is the error's default message.

Client errors carry the HTTP status, a slug for the problem type
(`/problems/<slug>`) and a fixed title; server errors are everything else.
"""

from datetime import datetime
from typing import Any, ClassVar


class ServiceError(Exception):
    """The queue service failed."""

    status: ClassVar[int] = 500
    slug: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        self.detail = detail or (self.__doc__ or "").strip()
        self.extra = extra
        super().__init__(self.detail)


class ClientError(ServiceError):
    """The request cannot be served as it is."""

    status = 400
    slug = "bad-request"
    title = "Bad request"


class ValueRefused(ClientError):
    """The database refused a value of the request as data (SQLSTATE class 22)."""

    status = 422
    slug = "value-refused"
    title = "Value refused"


class EnqueueRejected(ClientError):
    """The job was rejected at enqueue."""

    slug = "enqueue-rejected"
    title = "Job rejected"


class UnknownQueue(EnqueueRejected):
    """No queue has this name."""

    status = 404
    slug = "unknown-queue"
    title = "Unknown queue"


class UnknownJobType(EnqueueRejected):
    """No job type has this name."""

    slug = "unknown-job-type"
    title = "Unknown job type"


class JobTypeNotInQueue(EnqueueRejected):
    """The job type belongs to another queue."""

    slug = "job-type-not-in-queue"
    title = "Job type not in queue"


class InvalidJobData(EnqueueRejected):
    """The job's data is not valid for its type."""

    status = 422
    slug = "invalid-job-data"
    title = "Invalid job data"


class JobDataTooLarge(EnqueueRejected):
    """The job's data is larger than 64 KiB."""

    status = 413
    slug = "job-data-too-large"
    title = "Job data too large"


class InvalidPriority(EnqueueRejected):
    """Priority must be an integer from 1 to 10."""

    status = 422
    slug = "invalid-priority"
    title = "Invalid priority"


class MissingIdempotencyKeyField(EnqueueRejected):
    """The data lacks a field that the job type's idempotency key needs."""

    status = 422
    slug = "missing-idempotency-key-field"
    title = "Missing idempotency key field"


class IdempotencyKeyConflict(EnqueueRejected):
    """The idempotency key already belongs to a job of another type."""

    status = 409
    slug = "idempotency-key-conflict"
    title = "Idempotency key conflict"


class InvalidEnqueueRequest(EnqueueRejected):
    """The enqueue request is malformed."""

    slug = "invalid-enqueue-request"
    title = "Invalid enqueue request"


class InvalidDependency(EnqueueRejected):
    """A job's dependencies are malformed or name a job that does not exist."""

    status = 422
    slug = "invalid-dependency"
    title = "Invalid dependency"


class PayloadInvalid(InvalidJobData):
    """The job's data does not match its type's model."""

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, errors=errors)
        self.errors = errors


class JobNotFound(ClientError):
    """No job has this id."""

    status = 404
    slug = "job-not-found"
    title = "Job not found"


class BatchNotFound(ClientError):
    """No batch has this id (or the caller may not see it)."""

    status = 404
    slug = "batch-not-found"
    title = "Batch not found"


class InvalidJobTransition(ClientError):
    """The job is not in a state that allows this."""

    status = 409
    slug = "invalid-job-transition"
    title = "Invalid job transition"


class TaskError(Exception):
    """A task failed. Subclasses say whether another attempt may succeed."""


class RetryableTaskError(TaskError):
    """A transient failure: the queue's retry policy applies."""


class PermanentTaskError(TaskError):
    """A failure another attempt cannot fix: the job fails at once."""


class ExecutionTimedOut(RetryableTaskError):
    """The attempt ran past its execution timeout and its worker stopped it."""


class ProviderNotConfigured(PermanentTaskError):
    """The provider this job needs is not configured."""


class JobDeferred(TaskError):
    """The job may not run now (rate limit, breaker, emergency stop): run it later.

    The attempt is not counted: waiting for a limit is not a failure.

    Attributes:
        until: When the job should run again.
        reason: Why it waits (`tokens`, `concurrency`, `held`, `stopped`,
            `breaker_open`, `rate_limited`).
    """

    def __init__(self, message: str, *, until: datetime, reason: str) -> None:
        super().__init__(message)
        self.until = until
        self.reason = reason


class SideEffectConflict(ClientError, PermanentTaskError):
    """A provider call was recorded under this key for a different request."""

    status = 409
    slug = "side-effect-conflict"
    title = "Side effect conflict"


class IdempotencyKeyReused(ClientError):
    """The idempotency key was already used with a different request."""

    status = 409
    slug = "idempotency-key-reused"
    title = "Idempotency key reused"


class Forbidden(ClientError):
    """Your role does not allow this."""

    status = 403
    slug = "forbidden"
    title = "Forbidden"


class BatchRejected(ClientError):
    """The batch was rejected as a whole; nothing was enqueued."""

    status = 422
    slug = "batch-rejected"
    title = "Batch rejected"

    def __init__(self, detail: str, *, errors: list[Any]) -> None:
        super().__init__(detail)
        self.errors = errors


class RuleViolated(ClientError):
    """The change breaks a rule of the stored policy."""

    status = 422
    slug = "rule-violated"
    title = "Rule violated"


class UnknownRateLimit(ClientError):
    """No rate-limit bucket (or provider breaker) has this name."""

    status = 404
    slug = "unknown-rate-limit"
    title = "Unknown rate limit"


class AlertNotFound(ClientError):
    """No alert has this id."""

    status = 404
    slug = "alert-not-found"
    title = "Alert not found"


class ChannelNotConfigured(ClientError):
    """The alert channel is not configured."""

    status = 422
    slug = "channel-not-configured"
    title = "Channel not configured"


class ScheduleNotFound(ClientError):
    """No schedule has this name."""

    status = 404
    slug = "schedule-not-found"
    title = "Schedule not found"


class ScheduleExists(ClientError):
    """A schedule with this name already exists."""

    status = 409
    slug = "schedule-exists"
    title = "Schedule exists"


class InvalidSchedule(ClientError):
    """The schedule is not valid (its cron expression, say)."""

    status = 422
    slug = "invalid-schedule"
    title = "Invalid schedule"

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.errors = errors


class StripeEventsNotConfigured(ClientError):
    """This deployment takes no Stripe events: STRIPE_WEBHOOK_SECRET is unset."""

    status = 403
    slug = "stripe-events-not-configured"
    title = "Stripe events not configured"


class StripeSignatureInvalid(ClientError):
    """The Stripe-Signature header does not verify this body; nothing was enqueued."""

    status = 400
    slug = "stripe-signature-invalid"
    title = "Invalid Stripe signature"


class StripeEventInvalid(ClientError):
    """The body is signed but is not a Stripe event; nothing was enqueued."""

    status = 422
    slug = "invalid-stripe-event"
    title = "Invalid Stripe event"

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail)
        self.errors = errors
