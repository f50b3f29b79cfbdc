"""Typed wrappers of `sql/queries/metrics.sql`."""

from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import fetch_all, fetch_value


@dataclass(frozen=True)
class OutcomeTotal:
    """Attempts of one queue with one outcome."""

    queue: str
    status: str
    attempts: int


@dataclass(frozen=True)
class MinuteThroughput:
    """Succeeded and failed attempts of one queue in one minute."""

    queue: str
    minute: datetime
    completed: int
    failed: int


@dataclass(frozen=True)
class TypeFailures:
    """Failed attempts of one job type."""

    queue: str
    job_type: str
    failed: int
    retried: int


@dataclass(frozen=True)
class ErrorCount:
    """How often one error happened."""

    error_type: str | None
    message: str | None
    occurrences: int


@dataclass(frozen=True)
class HourFailures:
    """Failed attempts in one hour."""

    hour: datetime
    failed: int


async def outcome_totals(conn: Connection, *, since: datetime) -> list[OutcomeTotal]:
    """Attempts per queue and outcome since `since`."""
    return await fetch_all(conn, "outcome_totals", {"since": since}, OutcomeTotal)


async def throughput_per_minute(
    conn: Connection, *, since: datetime, queue: str | None
) -> list[MinuteThroughput]:
    """Attempts per queue and minute since `since`."""
    return await fetch_all(
        conn,
        "throughput_per_minute",
        {"since": since, "queue": queue},
        MinuteThroughput,
    )


async def failures_by_type(conn: Connection, *, since: datetime) -> list[TypeFailures]:
    """Failed attempts per job type since `since`."""
    return await fetch_all(conn, "failures_by_type", {"since": since}, TypeFailures)


async def top_errors(conn: Connection, *, since: datetime) -> list[ErrorCount]:
    """The most frequent errors since `since`."""
    return await fetch_all(conn, "top_errors", {"since": since}, ErrorCount)


async def failures_per_hour(conn: Connection, *, since: datetime) -> list[HourFailures]:
    """Failed attempts per hour since `since`."""
    return await fetch_all(conn, "failures_per_hour", {"since": since}, HourFailures)


@dataclass(frozen=True)
class QueueTrendPoint:
    """A queue's peaks in one hour of the monitor's snapshots."""

    queue: str
    hour: datetime
    waiting: int
    running: int
    oldest_waiting_age_s: float | None
    failed_last_hour: int


async def queue_trend(conn: Connection, *, since: datetime) -> list[QueueTrendPoint]:
    """Return each queue's hourly peaks since `since`."""
    return await fetch_all(conn, "queue_trend", {"since": since}, QueueTrendPoint)


@dataclass(frozen=True)
class QueueHour:
    """A queue's last hour of the monitor's snapshots: averages and the peak."""

    queue: str
    avg_waiting: float
    max_waiting: int
    avg_active: float
    avg_failed: float


async def queue_last_hour(conn: Connection) -> list[QueueHour]:
    """Return each queue's averages and peak over the last hour's snapshots."""
    return await fetch_all(conn, "queue_last_hour", {}, QueueHour)


async def roll_up_hours(conn: Connection, *, max_hours: int) -> int:
    """Roll up the complete hours not rolled yet, at most `max_hours`; return how many."""
    return int(await fetch_value(conn, "roll_up_hours", {"max_hours": max_hours}))


async def forget_rollups(conn: Connection) -> int:
    """Delete rollups older than 30 days; return the rows deleted."""
    return int(await fetch_value(conn, "forget_rollups", {}))
