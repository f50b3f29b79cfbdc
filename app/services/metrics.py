"""Metrics the API reports from the database: summary, throughput, failures.

Beside our windows, the summary and the failures carry what the old service
answered, over its own windows: each queue's last hour and the last hour's
alerts, and the dead letters of the last 24 hours.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.db import Connection
from app.db.queries import alerts as alert_queries
from app.db.queries import metrics as queries
from app.db.queries import tasks as task_queries
from app.db.queries.metrics import (
    ErrorCount,
    HourFailures,
    MinuteThroughput,
    OutcomeTotal,
    QueueHour,
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
    "OverviewRow",
    "QueueHour",
    "QueueTrendPoint",
    "TypeFailures",
]


# The old service's windows: its summary read the last hour, its failure
# analysis the last 24 hours.
OLD_SUMMARY_WINDOW = timedelta(hours=1)
OLD_FAILURES_WINDOW = timedelta(hours=24)
# Alerts have cooldowns, so an hour holds a few; these bound what one
# request reads when something raises many.
ALERTS_COUNTED = 500
DEAD_LETTERS_READ = 10_000


@dataclass(frozen=True)
class Summary:
    """Every queue's counts now, and attempts per outcome over a window."""

    queues: list[OverviewRow]
    outcomes: list[OutcomeTotal]
    trend: list[QueueTrendPoint]
    since: datetime
    last_hour: dict[str, QueueHour]
    alerts_last_hour: dict[str, int]


@dataclass(frozen=True)
class DeadLetterHour:
    """Jobs of a queue that failed for good in one hour."""

    queue: str
    hour: datetime
    failed: int


@dataclass(frozen=True)
class DeadLetterType:
    """Jobs of one type that failed for good, and the last of them."""

    queue: str
    job_type: str
    count: int
    last_failure: datetime


@dataclass(frozen=True)
class Failures:
    """Failures over a window: per type, top errors, per hour."""

    by_type: list[TypeFailures]
    top_errors: list[ErrorCount]
    per_hour: list[HourFailures]
    since: datetime
    dead_letter_hours: list[DeadLetterHour]
    dead_letter_types: list[DeadLetterType]


async def summary(conn: Connection, *, hours: int = 24) -> Summary:
    """Return the counts now, the attempts of the last `hours`, each queue's hourly peaks and last hour."""
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    hour_ago = now - OLD_SUMMARY_WINDOW
    last_hour = await queries.queue_last_hour(conn)
    alerts = await alert_queries.list_alerts(conn, severity=None, limit=ALERTS_COUNTED)
    return Summary(
        await queue_overview(conn),
        await queries.outcome_totals(conn, since=since),
        await queries.queue_trend(conn, since=since),
        since,
        {hour.queue: hour for hour in last_hour},
        dict(Counter(a.severity for a in alerts if a.created_at >= hour_ago)),
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
    now = datetime.now(UTC)
    since = now - timedelta(hours=hours)
    window = task_queries.ReportWindow(
        queue=None,
        start=now - OLD_FAILURES_WINDOW,
        end=now,
        max_rows=DEAD_LETTERS_READ,
    )
    # Dead letters, as the old analysis counted them (its dead_letter_jobs).
    dead = [
        (row.queue, row.job_type, row.failed_at)
        for row in await task_queries.report_failures(conn, window=window)
        if row.failed_at is not None
    ]
    per_hour = Counter(
        (queue, at.astimezone(UTC).replace(minute=0, second=0, microsecond=0))
        for queue, _, at in dead
    )
    per_type = Counter((queue, job_type) for queue, job_type, _ in dead)
    last: dict[tuple[str, str], datetime] = {}
    for queue, job_type, at in dead:
        last[(queue, job_type)] = max(at, last.get((queue, job_type), at))
    return Failures(
        await queries.failures_by_type(conn, since=since),
        await queries.top_errors(conn, since=since),
        await queries.failures_per_hour(conn, since=since),
        since,
        [DeadLetterHour(q, h, n) for (q, h), n in sorted(per_hour.items())],
        [
            DeadLetterType(queue, job_type, count, last[(queue, job_type)])
            for (queue, job_type), count in sorted(
                per_type.items(), key=lambda item: (-item[1], item[0])
            )
        ],
    )
