"""Bodies of /queues: overview, status, pause, resume, clear, jobs, policy."""

from datetime import datetime
from typing import Literal

from pydantic import Field, computed_field

from app.api.schemas.base import Schema
from app.api.schemas.jobs import Job

# The old service's counts of finished jobs were those Bull kept; here the
# finished jobs a queue keeps are retention's (up to a year of them), and
# these count the last hour's, as completedLastHour and failedLastHour do.
COMPLETED = "The old service's name: jobs that succeeded in the last hour."
FAILED = "The old service's name: jobs that failed for good in the last hour."


class QueueCounts(Schema):
    """A queue's job counts."""

    waiting: int
    delayed: int
    active: int
    completed_last_hour: int
    failed_last_hour: int

    @computed_field(description=COMPLETED)
    def completed(self) -> int:
        """completedLastHour, by the old service's name."""
        return self.completed_last_hour

    @computed_field(description=FAILED)
    def failed(self) -> int:
        """failedLastHour, by the old service's name."""
        return self.failed_last_hour


class QueueSummary(Schema):
    """GET /queues: one queue; the old service's counts beside ours, at the top."""

    name: str
    tier: str
    paused: bool
    concurrency: int
    max_attempts: int
    counts: QueueCounts
    oldest_waiting_age_s: float | None

    @computed_field(description="counts.waiting, where the old service put it.")
    def waiting(self) -> int:
        """The old service's flat count."""
        return self.counts.waiting

    @computed_field(description="counts.active, where the old service put it.")
    def active(self) -> int:
        """The old service's flat count."""
        return self.counts.active

    @computed_field(description="counts.delayed, where the old service put it.")
    def delayed(self) -> int:
        """The old service's flat count."""
        return self.counts.delayed

    @computed_field(description=COMPLETED)
    def completed(self) -> int:
        """The old service's flat count."""
        return self.counts.completed_last_hour

    @computed_field(description=FAILED)
    def failed(self) -> int:
        """The old service's flat count."""
        return self.counts.failed_last_hour


class JobSample(Job):
    """A job of a queue's samples, with the old service's names for its times."""

    @computed_field(description="processedAt, by its old name.")
    def started_at(self) -> datetime | None:
        """When the job started."""
        return self.processed_at

    @computed_field(description="finishedAt of a failed job, by its old name.")
    def failed_at(self) -> datetime | None:
        """When the job failed for good."""
        return self.finished_at if self.state == "failed" else None

    @computed_field(description="failedReason, by its old name.")
    def reason(self) -> str | None:
        """Why the job failed."""
        return self.failed_reason


class QueueSamples(Schema):
    """Up to ten jobs of each state."""

    waiting: list[JobSample]
    active: list[JobSample]
    failed: list[JobSample]


class QueueStatusBody(Schema):
    """GET /queues/:name/status."""

    name: str
    paused: bool
    metrics: QueueCounts
    oldest_waiting_age_s: float | None
    samples: QueueSamples


class QueueAction(Schema):
    """The result of pausing or resuming a queue."""

    queue: str
    paused: bool

    @computed_field(description="The old service's word for `paused`.")
    def status(self) -> Literal["paused", "active"]:
        """Paused or active."""
        return "paused" if self.paused else "active"

    @computed_field(description="The old service's sentence.")
    def message(self) -> str:
        """What was done."""
        return f"Queue has been {'paused' if self.paused else 'resumed'}"


class QueueCleared(Schema):
    """The result of clearing a queue."""

    queue: str
    type: str
    removed: int

    @computed_field(description='The old service\'s "cleared <type>".')
    def action(self) -> str:
        """What was cleared."""
        return f"cleared {self.type}"

    @computed_field(description="The old service's sentence.")
    def message(self) -> str:
        """What was done."""
        return "Queue has been cleared"


class QueueJobsPage(Schema):
    """GET /queues/:name/jobs."""

    queue: str
    status: str
    start: int
    end: int
    jobs: list[Job]

    @computed_field(description="The jobs on this page (the old service's count).")
    def count(self) -> int:
        """How many jobs this page holds."""
        return len(self.jobs)


class QueueConfig(Schema):
    """A queue's policy (durations in seconds)."""

    name: str
    tier: str
    paused: bool
    max_attempts: int
    backoff: Literal["exponential", "fixed"]
    backoff_base_s: float
    backoff_factor: float
    backoff_cap_s: float | None
    backoff_jitter: bool
    keep_succeeded_s: float
    keep_failed_s: float
    keep_results: bool
    concurrency: int
    alert_max_waiting: int
    alert_max_oldest_age_s: float
    alert_max_failed_per_hour: int
    idempotency_key_ttl_s: float
    execution_timeout_s: float
    priority_aging_s: int
    key_concurrency: int | None = Field(
        description="At most this many running jobs per concurrency key; null: no limit."
    )
    updated_at: datetime


class QueueConfigPatch(Schema):
    """PATCH /queues/:name/config: the fields to change.

    The snake_case names are the columns of `queue.queues` (durations as
    seconds), so `model_dump()` is the change the query applies.
    """

    max_attempts: int | None = Field(default=None, ge=1, le=100)
    backoff: Literal["exponential", "fixed"] | None = None
    backoff_base_s: float | None = Field(default=None, gt=0, le=86400)
    backoff_factor: float | None = Field(default=None, ge=1, le=10)
    backoff_cap_s: float | None = Field(
        default=None, gt=0, le=7 * 86400, description="null with clearBackoffCap"
    )
    clear_backoff_cap: bool = False
    backoff_jitter: bool | None = None
    keep_succeeded_s: float | None = Field(default=None, ge=0, le=3650 * 86400)
    keep_failed_s: float | None = Field(default=None, ge=0, le=3650 * 86400)
    keep_results: bool | None = None
    concurrency: int | None = Field(default=None, ge=1, le=1000)
    alert_max_waiting: int | None = Field(default=None, ge=1, le=2**31 - 1)
    alert_max_oldest_age_s: float | None = Field(default=None, gt=0, le=3650 * 86400)
    alert_max_failed_per_hour: int | None = Field(default=None, ge=1, le=2**31 - 1)
    idempotency_key_ttl_s: float | None = Field(default=None, ge=0, le=3650 * 86400)
    execution_timeout_s: float | None = Field(
        default=None,
        ge=1,
        le=86400,
        description="How long an attempt may run before its worker stops it.",
    )
    priority_aging_s: int | None = Field(
        default=None,
        ge=0,
        le=86400,
        description="A waiting job gains a priority level per this many seconds it "
        "has been due, up to 10; 0 turns aging off.",
    )
    key_concurrency: int | None = Field(
        default=None,
        ge=0,
        le=10000,
        description="At most this many running jobs per concurrency key, across every "
        "worker, with claims taking turns between keys; 0 lifts the limit.",
    )
