"""Metrics the API reports from the database: summary, throughput, failures."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.db import Connection
from app.db.queries import metrics as queries
from app.db.queries.metrics import (
    ErrorCount,
    HourFailures,
    MinuteThroughput,
    OutcomeTotal,
    QueueTrendPoint,
    TypeFailures,
)
from app.db.queries.queues import OverviewRow, queue_overview
from app.domain.policy import canonical_queue_name

__all__ = [
    "ErrorCount",
    "HourFailures",
    "MinuteThroughput",
    "OutcomeTotal",
    "QueueTrendPoint",
    "TypeFailures",
]


@dataclass(frozen=True)
class Summary:
    """Every queue's counts now, and attempts per outcome over a window."""

    queues: list[OverviewRow]
    outcomes: list[OutcomeTotal]
    trend: list[QueueTrendPoint]
    since: datetime


@dataclass(frozen=True)
class Failures:
    """Failures over a window: per type, top errors, per hour."""

    by_type: list[TypeFailures]
    top_errors: list[ErrorCount]
    per_hour: list[HourFailures]
    since: datetime


async def summary(conn: Connection, *, hours: int = 24) -> Summary:
    """Return the counts now, the attempts of the last `hours` and each queue's hourly peaks."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    return Summary(
        await queue_overview(conn),
        await queries.outcome_totals(conn, since=since),
        await queries.queue_trend(conn, since=since),
        since,
    )


async def throughput(
    conn: Connection, *, minutes: int = 60, queue: str | None = None
) -> list[MinuteThroughput]:
    """Return succeeded and failed attempts per queue and minute over the last `minutes`."""
    since = datetime.now(UTC) - timedelta(minutes=minutes)
    return await queries.throughput_per_minute(
        conn, since=since, queue=canonical_queue_name(queue) if queue else None
    )


async def failures(conn: Connection, *, hours: int = 24) -> Failures:
    """Return failures of the last `hours`: per job type, the top errors, per hour."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    return Failures(
        await queries.failures_by_type(conn, since=since),
        await queries.top_errors(conn, since=since),
        await queries.failures_per_hour(conn, since=since),
        since,
    )
