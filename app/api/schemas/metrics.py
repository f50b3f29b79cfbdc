"""Bodies of /metrics: summary, throughput and failures, from the database."""

from datetime import datetime

from pydantic import Field

from app.api.schemas.base import Schema
from app.api.schemas.queues import QueueCounts, QueueSummary


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
    oldest_waiting_age_s: float | None
    failed_last_hour: int


class MetricsSummary(Schema):
    """GET /metrics/summary."""

    generated_at: datetime
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
    job_type: str
    failed: int
    retried: int


class TopError(Schema):
    """A frequent error."""

    error_type: str | None
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
    by_type: list[FailureByType]
    top_errors: list[TopError]
    trend: list[FailuresPerHour]
