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
