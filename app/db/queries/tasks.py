"""Typed wrappers of `sql/queries/tasks.sql`: what the built-in tasks read and write."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_value


@dataclass(frozen=True)
class JobReportRow:
    """One job of a "jobs" report."""

    id: int
    queue: str
    job_type: str
    state: str
    attempts: int
    enqueued_at: datetime | None
    finished_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class FailureReportRow:
    """One failed job of a "failures" report."""

    id: int
    queue: str
    job_type: str
    attempts: int
    failed_at: datetime | None
    last_error_type: str | None
    last_error: str | None


@dataclass(frozen=True)
class ThroughputReportRow:
    """Attempts of one queue, hour and outcome."""

    queue: str
    hour: datetime
    status: str
    attempts: int
    avg_duration_s: float | None


@dataclass(frozen=True)
class AnalyticsEvent:
    """One job's analytics event, written with the job's completion."""

    job_id: int
    event_type: str
    user_id: UUID | None
    venue_id: UUID | None
    properties: dict[str, Any]
    occurred_at: datetime


async def insert_analytics_events(
    conn: Connection, *, events: Sequence[AnalyticsEvent]
) -> None:
    """Record the events; a job that already recorded its event is skipped."""
    params = {
        "job_ids": [e.job_id for e in events],
        "event_types": [e.event_type for e in events],
        "user_ids": [e.user_id for e in events],
        "venue_ids": [e.venue_id for e in events],
        "properties": [Jsonb(e.properties) for e in events],
        "occurred_at": [e.occurred_at for e in events],
    }
    await execute(conn, "insert_analytics_events", params)


async def delete_orphan_outcomes(conn: Connection, *, before: datetime) -> int:
    """Delete outcomes older than `before` whose job is gone; return the count."""
    return int(await fetch_value(conn, "delete_orphan_outcomes", {"before": before}))


async def delete_idle_idempotency_keys(conn: Connection, *, before: datetime) -> int:
    """Delete keys created before `before` whose job no longer waits or runs."""
    return int(
        await fetch_value(conn, "delete_idle_idempotency_keys", {"before": before})
    )


@dataclass(frozen=True)
class ReportWindow:
    """What a report covers: [start, end), optionally one queue, at most max_rows."""

    queue: str | None
    start: datetime
    end: datetime
    max_rows: int

    def params(self) -> dict[str, Any]:
        """Return the query parameters of the window."""
        return {
            "queue": self.queue,
            "period_start": self.start,
            "period_end": self.end,
            "max_rows": self.max_rows,
        }


async def report_jobs(conn: Connection, *, window: ReportWindow) -> list[JobReportRow]:
    """Jobs enqueued in the window."""
    return await fetch_all(conn, "report_jobs", window.params(), JobReportRow)


async def report_failures(
    conn: Connection, *, window: ReportWindow
) -> list[FailureReportRow]:
    """Jobs that failed in the window."""
    return await fetch_all(conn, "report_failures", window.params(), FailureReportRow)


async def report_throughput(
    conn: Connection, *, window: ReportWindow
) -> list[ThroughputReportRow]:
    """Attempts per queue, hour and outcome in the window."""
    return await fetch_all(
        conn, "report_throughput", window.params(), ThroughputReportRow
    )
