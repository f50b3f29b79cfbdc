"""Bodies of /queues: overview, status, pause, resume, clear, jobs, policy."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Schema
from app.api.schemas.jobs import Job


class QueueCounts(Schema):
    """A queue's job counts."""

    waiting: int
    delayed: int
    active: int
    completed_last_hour: int
    failed_last_hour: int


class QueueSummary(Schema):
    """GET /queues: one queue."""

    name: str
    tier: str
    paused: bool
    concurrency: int
    max_attempts: int
    counts: QueueCounts
    oldest_waiting_age_s: float | None


class QueueSamples(Schema):
    """Up to ten jobs of each state."""

    waiting: list[Job]
    active: list[Job]
    failed: list[Job]


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
    jobs: list[Job]


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
