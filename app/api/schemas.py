"""Request and response bodies, with the old service's field names."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_DELAY_MS = 365 * 24 * 3600 * 1000


class Schema(BaseModel):
    """Base of every body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class JobOptionsIn(Schema):
    """Per-job options."""

    priority: int | None = Field(
        default=None, ge=1, le=10, description="1-10, higher runs first."
    )
    delay: int | None = Field(
        default=None,
        ge=0,
        le=MAX_DELAY_MS,
        description="Milliseconds before the job may run.",
    )
    attempts: int | None = Field(
        default=None, ge=1, le=10, description="Attempts before the job fails for good."
    )


class JobCreate(Schema):
    """POST /jobs."""

    queue: str = Field(
        min_length=1,
        max_length=64,
        description="money, communication, background (or money-queue ...).",
    )
    type: str = Field(
        min_length=1, max_length=128, description="Job type, e.g. payment-process."
    )
    data: dict[str, Any] = Field(
        description="The job's payload, validated by its type's model and stored as given."
    )
    options: JobOptionsIn | None = None


class JobCreated(Schema):
    """The job a POST /jobs created (201) or found under its idempotency key (200)."""

    jobId: int
    queue: str
    type: str
    status: Literal["queued", "duplicate"]
    options: JobOptionsIn


class BatchJobIn(Schema):
    """One job of POST /jobs/batch."""

    type: str = Field(min_length=1, max_length=128)
    data: dict[str, Any]
    options: JobOptionsIn | None = None


class BatchOptions(Schema):
    """Options of a batch."""

    stopOnError: bool = Field(
        default=False, description="All-or-nothing, in one transaction."
    )
    validateAll: bool = Field(
        default=False,
        description="With stopOnError: report every invalid job, not the first.",
    )


class BatchCreate(Schema):
    """POST /jobs/batch."""

    queue: str = Field(min_length=1, max_length=64)
    jobs: list[BatchJobIn] = Field(min_length=1, max_length=100)
    options: BatchOptions | None = None


class BatchJobResult(Schema):
    """A job of the batch that was enqueued."""

    index: int
    jobId: int
    type: str
    status: Literal["queued", "duplicate"]


class BatchJobError(Schema):
    """A job of the batch that was not."""

    index: int
    type: str
    error: str
    errors: list[dict[str, str]] = Field(default_factory=list)


class BatchCreated(Schema):
    """What POST /jobs/batch did."""

    queue: str
    total: int
    successful: int
    failed: int
    jobs: list[BatchJobResult]
    errors: list[BatchJobError]


JobState = Literal[
    "waiting", "delayed", "active", "completed", "failed", "cancelled", "aborted"
]


class Job(Schema):
    """GET /jobs/:id."""

    id: int
    queue: str
    type: str
    data: Any
    state: JobState
    progress: int = Field(
        description="100 once the job has finished, else 0 (tasks report no finer progress)."
    )
    attempts: int
    maxAttempts: int | None
    priority: int
    createdAt: datetime | None
    scheduledFor: datetime | None
    processedAt: datetime | None
    finishedAt: datetime | None
    failedReason: str | None
    idempotencyKey: str | None
    requestId: str | None


class Outcome(Schema):
    """One attempt of a job."""

    attempt: int
    status: str
    errorType: str | None
    error: str | None
    result: Any
    startedAt: datetime
    finishedAt: datetime
    durationMs: float


ExplainReason = Literal[
    "running",
    "stalled",
    "succeeded",
    "cancelled",
    "aborted",
    "failed",
    "scheduled",
    "queue_paused",
    "lock_held",
    "rate_limited",
    "breaker_open",
    "no_worker",
    "waiting",
    "retrying",
]


class JobReason(Schema):
    """One reason a job is not running (a row of `queue.explain_job`)."""

    reason: ExplainReason
    detail: str = Field(description="The reason in plain words.")
    until: datetime | None = Field(
        description="When it lifts, if known: run time, end of a hold, next token, breaker retry."
    )
    blockingJobId: int | None = Field(
        description="The job holding its serial lock (lock_held)."
    )


class JobExplanation(Schema):
    """GET /jobs/:id/explain: why a job is not running, most decisive reason first."""

    jobId: int
    state: JobState
    reasons: list[JobReason]


class JobAction(Schema):
    """The result of retrying or cancelling a job."""

    jobId: int
    status: Literal["queued", "cancelled", "aborting"]


class HealthCheck(Schema):
    """One component of GET /health."""

    healthy: bool
    detail: str


class Health(Schema):
    """GET /health and GET /health/ready."""

    status: Literal["ok", "unhealthy"]
    checks: dict[str, HealthCheck]


class QueueCounts(Schema):
    """A queue's job counts."""

    waiting: int
    delayed: int
    active: int
    completedLastHour: int
    failedLastHour: int


class QueueSummary(Schema):
    """GET /queues: one queue."""

    name: str
    tier: str
    paused: bool
    concurrency: int
    maxAttempts: int
    counts: QueueCounts
    oldestWaitingAgeS: float | None


class QueueSamples(Schema):
    """Up to ten jobs of each state."""

    waiting: list["Job"]
    active: list["Job"]
    failed: list["Job"]


class QueueStatusBody(Schema):
    """GET /queues/:name/status."""

    name: str
    paused: bool
    metrics: QueueCounts
    oldestWaitingAgeS: float | None
    samples: QueueSamples


class QueueAction(Schema):
    """The result of pausing or resuming a queue."""

    queue: str
    paused: bool


class QueueCleared(Schema):
    """The result of clearing a queue."""

    queue: str
    type: str
    removed: int


class QueueJobsPage(Schema):
    """GET /queues/:name/jobs."""

    queue: str
    status: str
    start: int
    end: int
    jobs: list["Job"]


class QueueConfig(Schema):
    """A queue's policy (durations in seconds)."""

    name: str
    tier: str
    paused: bool
    maxAttempts: int
    backoff: Literal["exponential", "fixed"]
    backoffBaseS: float
    backoffFactor: float
    backoffCapS: float | None
    backoffJitter: bool
    keepSucceededS: float
    keepFailedS: float
    keepResults: bool
    concurrency: int
    alertMaxWaiting: int
    alertMaxOldestAgeS: float
    alertMaxFailedPerHour: int
    idempotencyKeyTtlS: float
    updatedAt: datetime


class QueueConfigPatch(Schema):
    """PATCH /queues/:name/config: the fields to change."""

    maxAttempts: int | None = Field(default=None, ge=1, le=100)
    backoff: Literal["exponential", "fixed"] | None = None
    backoffBaseS: float | None = Field(default=None, gt=0, le=86400)
    backoffFactor: float | None = Field(default=None, ge=1, le=10)
    backoffCapS: float | None = Field(
        default=None, gt=0, le=7 * 86400, description="null with clearBackoffCap"
    )
    clearBackoffCap: bool = False
    backoffJitter: bool | None = None
    keepSucceededS: float | None = Field(default=None, ge=0, le=3650 * 86400)
    keepFailedS: float | None = Field(default=None, ge=0, le=3650 * 86400)
    keepResults: bool | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1000)
    alertMaxWaiting: int | None = Field(default=None, ge=1)
    alertMaxOldestAgeS: float | None = Field(default=None, gt=0)
    alertMaxFailedPerHour: int | None = Field(default=None, ge=1)
    idempotencyKeyTtlS: float | None = Field(default=None, ge=0, le=3650 * 86400)


class RateLimitStatus(Schema):
    """A provider bucket as of now."""

    key: str
    group: str | None
    ratePerSecond: float
    burst: int
    maxConcurrent: int | None
    cooldownS: float
    tokens: float
    activeLeases: int
    paused: bool
    holdUntil: datetime | None
    updatedAt: datetime
    breakerState: Literal["closed", "open", "half_open"] | None = Field(
        default=None, description="The provider's circuit breaker; none for internal."
    )
    breakerRetryAt: datetime | None = Field(
        default=None, description="When an open breaker lets a probe call through."
    )


class RateLimitCheck(Schema):
    """Whether a call to the provider could go now (no token is taken)."""

    service: str
    allowed: bool
    reason: str | None
    waitMs: int
    tokens: float


class EmergencyStop(Schema):
    """POST /rate-limits/emergency-stop and /resume."""

    services: list[str] | None = Field(
        default=None, description="Buckets to stop; all when absent."
    )
    reason: str | None = Field(default=None, max_length=500)


class RateLimitsChanged(Schema):
    """Buckets an emergency stop or resume changed."""

    services: list[str]
    paused: bool


class OutcomeCount(Schema):
    """Attempts of a queue with an outcome."""

    queue: str
    status: str
    attempts: int


class TrendPoint(Schema):
    """A queue's peaks in one hour, from the monitor's snapshots."""

    queue: str
    hour: datetime
    waiting: int
    active: int
    oldestWaitingAgeS: float | None
    failedLastHour: int


class MetricsSummary(Schema):
    """GET /metrics/summary."""

    generatedAt: datetime
    since: datetime
    queues: list[QueueSummary]
    totals: QueueCounts
    outcomes: list[OutcomeCount]
    trend: list[TrendPoint] = Field(
        default_factory=list,
        description="Per queue and hour, the peaks of the monitor's 30-second snapshots.",
    )


class ThroughputPoint(Schema):
    """Attempts of a queue in one minute."""

    queue: str
    minute: datetime
    completed: int
    failed: int


class FailureByType(Schema):
    """Failed attempts of one job type."""

    queue: str
    jobType: str
    failed: int
    retried: int


class TopError(Schema):
    """A frequent error."""

    errorType: str | None
    message: str | None
    occurrences: int


class FailuresPerHour(Schema):
    """Failed attempts in one hour."""

    hour: datetime
    failed: int


class FailureReport(Schema):
    """GET /metrics/failures."""

    since: datetime
    total: int
    byType: list[FailureByType]
    topErrors: list[TopError]
    trend: list[FailuresPerHour]


class Alert(Schema):
    """An alert."""

    id: int
    severity: str
    type: str
    queue: str | None
    value: float | None
    threshold: float | None
    message: str
    channels: dict[str, Any]
    createdAt: datetime
    acknowledged: bool
    acknowledgedBy: str | None
    acknowledgedAt: datetime | None


class AlertTest(Schema):
    """POST /alerts/test."""

    severity: Literal["critical", "warning", "info"] = "info"
    channel: Literal["log", "sms", "voice"] = "log"
