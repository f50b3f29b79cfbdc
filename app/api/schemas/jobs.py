"""Bodies of /jobs: add, batch, get, outcomes, explain, retry, cancel."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from app.api.schemas.base import JOB_TYPE_PATTERN, QUEUE_PATTERN, Schema

MAX_DELAY_MS = 365 * 24 * 3600 * 1000

# A job's state over HTTP (the old service's names); docs/http-api.md "Job states"
# maps them to procrastinate's statuses and the `?status=` filter.
JobState = Literal[
    "waiting",
    "delayed",
    "waiting-children",
    "active",
    "completed",
    "failed",
    "cancelled",
    "aborted",
]


class DependencyIn(Schema):
    """A job this one waits for: an existing job by id, or an earlier job of the same call."""

    job_id: int | None = Field(
        default=None, ge=1, description="An existing job the caller may see."
    )
    index: int | None = Field(
        default=None,
        ge=0,
        le=999,
        description="An earlier job of the same all-or-nothing batch, by its index.",
    )
    on_failure: Literal["fail", "run"] = Field(
        default="fail",
        description="fail: this job fails (or is cancelled) with it; run: it runs anyway.",
    )

    @model_validator(mode="after")
    def _names_one_job(self) -> "DependencyIn":
        if (self.job_id is None) == (self.index is None):
            raise ValueError("a dependency names exactly one of jobId and index")
        return self


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
    ordering_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description=(
            "Jobs of one ordering key run one at a time, in enqueue order "
            "(webhook-deliver: per subscriber URL and stream unless given)."
        ),
    )
    concurrency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description=(
            "At most the queue's keyConcurrency jobs of one key run at once, and "
            "claims share turns between keys."
        ),
    )
    depends_on: list[DependencyIn] | None = Field(
        default=None,
        max_length=100,
        description="Jobs this one waits for; it runs once they have ended.",
    )
    unique_while: Literal["retained", "active", "waiting"] | None = Field(
        default=None,
        description=(
            "How long the idempotency key stays unique: retained (default, as long "
            "as the key is kept), active (until its job ends), waiting (until it starts)."
        ),
    )
    on_duplicate: Literal["keep", "replace"] | None = Field(
        default=None,
        description=(
            "keep (default): a duplicate returns the first job; replace: it replaces "
            "a waiting job's data and run time (debounce)."
        ),
    )


class JobCreate(Schema):
    """POST /jobs."""

    queue: str = Field(
        min_length=1,
        max_length=64,
        pattern=QUEUE_PATTERN,
        description="money, communication, background (or money-queue ...).",
    )
    job_type: str = Field(
        alias="type",
        min_length=1,
        max_length=128,
        pattern=JOB_TYPE_PATTERN,
        description="Job type, e.g. payment-process.",
    )
    data: dict[str, Any] = Field(
        description="The job's payload, validated by its type's model and stored as given."
    )
    options: JobOptionsIn | None = None


class JobCreated(Schema):
    """The job a POST /jobs created (201) or found under its idempotency key (200)."""

    job_id: int
    queue: str
    job_type: str = Field(alias="type")
    status: Literal["queued", "duplicate"]
    options: JobOptionsIn


class BatchJobIn(Schema):
    """One job of POST /jobs/batch."""

    job_type: str = Field(
        alias="type", min_length=1, max_length=128, pattern=JOB_TYPE_PATTERN
    )
    data: dict[str, Any]
    options: JobOptionsIn | None = None


class BatchOptions(Schema):
    """Options of a batch."""

    stop_on_error: bool = Field(
        default=False, description="All-or-nothing, in one transaction."
    )
    validate_all: bool = Field(
        default=False,
        description="With stopOnError: report every invalid job, not the first.",
    )


class BatchCreate(Schema):
    """POST /jobs/batch."""

    queue: str = Field(min_length=1, max_length=64, pattern=QUEUE_PATTERN)
    jobs: list[BatchJobIn] = Field(min_length=1, max_length=100)
    options: BatchOptions | None = None


class BatchJobResult(Schema):
    """A job of the batch that was enqueued."""

    index: int
    job_id: int
    job_type: str = Field(alias="type")
    status: Literal["queued", "duplicate"]


class BatchJobError(Schema):
    """A job of the batch that was not."""

    index: int
    job_type: str = Field(alias="type")
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


class Job(Schema):
    """GET /jobs/:id."""

    id: int
    queue: str
    job_type: str = Field(alias="type")
    data: Any
    state: JobState
    progress: int = Field(
        description="The percent the task last reported, rounded down; else 100 once "
        "the job has finished and 0 before."
    )
    progress_message: str | None = Field(
        description="The message the task last reported with its progress."
    )
    progress_at: datetime | None = Field(
        description="When the task last reported progress."
    )
    attempts: int
    max_attempts: int | None
    priority: int
    created_at: datetime | None
    scheduled_for: datetime | None
    processed_at: datetime | None
    finished_at: datetime | None
    failed_reason: str | None
    idempotency_key: str | None
    request_id: str | None
    waiting_for: int | None = Field(
        description="How many of its dependencies a waiting-children job still waits for."
    )
    concurrency_key: str | None


class Outcome(Schema):
    """One attempt of a job."""

    attempt: int
    status: str
    error_type: str | None
    error: str | None
    result: Any
    started_at: datetime
    finished_at: datetime
    duration_ms: float


ExplainReason = Literal[
    "running",
    "stalled",
    "succeeded",
    "cancelled",
    "aborted",
    "failed",
    "dependencies",
    "batch",
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
    blocking_job_id: int | None = Field(
        description="The job holding its serial lock (lock_held), or the "
        "dependency it waits for (dependencies)."
    )


class JobExplanation(Schema):
    """GET /jobs/:id/explain: why a job is not running, most decisive reason first."""

    job_id: int
    state: JobState
    reasons: list[JobReason]


class JobQueueIn(Schema):
    """POST /jobs/:id/retry: the old service's body, naming the job's queue."""

    queue: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=QUEUE_PATTERN,
        description="The job's queue (or its old alias); another queue's job is not found.",
    )


class JobAction(Schema):
    """The result of retrying or cancelling a job."""

    job_id: int
    status: Literal["queued", "cancelled", "aborting"]
    message: str = Field(description="The old service's sentence for what was done.")
