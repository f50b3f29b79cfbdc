"""Bodies of /metrics: summary, throughput and failures, from the database.

The old service's fields are snake_case on the wire (`queue_name`,
`jobs_per_minute`), as it answered them; each is named by an explicit alias.
"""

from datetime import datetime

from pydantic import Field, computed_field

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


# The old summary's query: the last hour's snapshots of the monitor, averaged.
HOUR_MEAN = (
    "The mean over the last hour's snapshots of the monitor; null without snapshots."
)


class SummaryQueue(QueueSummary):
    """A queue of GET /metrics/summary, with the old service's last-hour fields."""

    avg_waiting: float | None = Field(alias="avg_waiting", description=HOUR_MEAN)
    max_waiting: int | None = Field(
        alias="max_waiting",
        description="The most jobs waiting in the last hour's snapshots; null without snapshots.",
    )
    avg_active: float | None = Field(alias="avg_active", description=HOUR_MEAN)
    avg_failed: float | None = Field(
        alias="avg_failed",
        description="Jobs that failed in the hour before each snapshot. " + HOUR_MEAN,
    )

    @computed_field(alias="queue_name", description="name, by its old name.")
    def queue_name(self) -> str:
        """The queue's name."""
        return self.name


class AlertCount(Schema):
    """Alerts of one severity raised in the last hour."""

    severity: str
    count: int


class MetricsSummary(Schema):
    """GET /metrics/summary."""

    generated_at: datetime
    since: datetime
    queues: list[SummaryQueue]
    totals: QueueCounts
    outcomes: list[OutcomeCount]
    trend: list[TrendPoint] = Field(
        default_factory=list,
        description="Per queue and hour, the peaks of the monitor's 30-second snapshots.",
    )
    alerts: list[AlertCount] = Field(
        description="Alerts raised in the last hour, per severity (the old service's)."
    )

    @computed_field(description="generatedAt, by its old name.")
    def timestamp(self) -> datetime:
        """When the summary was made."""
        return self.generated_at


class ThroughputPoint(Schema):
    """Attempts of a queue in one minute."""

    queue: str
    minute: datetime
    completed: int
    failed: int

    @computed_field(alias="queue_name", description="queue, by its old name.")
    def queue_name(self) -> str:
        """The queue's name."""
        return self.queue

    @computed_field(alias="jobs_per_minute", description="completed, by its old name.")
    def jobs_per_minute(self) -> int:
        """Attempts that succeeded in the minute."""
        return self.completed


class ThroughputReport(Schema):
    """GET /metrics/throughput: the points, wrapped as the old service answered them."""

    throughput: list[ThroughputPoint]
    timestamp: datetime


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


class OldFailureTrend(Schema):
    """Jobs of a queue that failed for good in one hour of the last 24."""

    queue_name: str = Field(alias="queue_name")
    hour: datetime
    avg_failures: int = Field(
        alias="avg_failures", description="The jobs that failed for good in that hour."
    )


class OldTopFailure(Schema):
    """Jobs of one type that failed for good in the last 24 hours."""

    queue_name: str = Field(alias="queue_name")
    job_type: str = Field(alias="job_type")
    count: int
    last_failure: datetime = Field(alias="last_failure")


class FailureReport(Schema):
    """GET /metrics/failures.

    `trends` and `topFailures` are the old service's: the dead letters of the
    last 24 hours (at most the first 10,000), whatever `hours` asks.
    """

    since: datetime
    total: int
    by_type: list[FailureByType]
    top_errors: list[TopError]
    trend: list[FailuresPerHour]
    trends: list[OldFailureTrend]
    top_failures: list[OldTopFailure]
    timestamp: datetime
