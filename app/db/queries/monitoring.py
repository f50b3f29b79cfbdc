"""Typed wrappers of `sql/queries/monitoring.sql`."""

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_one, fetch_value
from app.db.queries.alerts import AlertRow


@dataclass(frozen=True)
class QueueHealthRow:
    """A queue now, beside its thresholds and live workers."""

    queue_name: str
    paused: bool
    alert_severity: str
    waiting: int
    scheduled: int
    running: int
    failed_last_hour: int
    oldest_waiting_age_s: float | None
    alert_max_waiting: int
    alert_max_oldest_age_s: float
    alert_max_failed_per_hour: int
    workers_alive: int


@dataclass(frozen=True)
class DatabaseHealthRow:
    """The database's health as the queue sees it."""

    dead_tuples: int
    live_tuples: int
    last_vacuum_age_s: float | None
    oldest_transaction_age_s: float | None
    stalled_jobs: int


@dataclass(frozen=True)
class ScrapeRow:
    """What a Prometheus scrape reads of one queue, beside the database's health."""

    queue_name: str
    paused: bool
    waiting: int
    scheduled: int
    running: int
    oldest_waiting_age_s: float | None
    workers_alive: int
    failed_jobs: int
    dead_tuples: int
    last_vacuum_age_s: float | None
    oldest_transaction_age_s: float | None
    stalled_jobs: int


async def queue_health(
    conn: Connection, *, stalled_after_s: float
) -> list[QueueHealthRow]:
    """Return every queue beside its thresholds."""
    params = {"stalled_after_s": stalled_after_s}
    return await fetch_all(conn, "queue_health", params, QueueHealthRow)


async def database_health(
    conn: Connection, *, stalled_after_s: float
) -> DatabaseHealthRow:
    """Return the hot table's and the database's health."""
    params = {"stalled_after_s": stalled_after_s}
    row = await fetch_one(conn, "database_health", params, DatabaseHealthRow)
    if row is None:  # the function always returns one row
        raise RuntimeError("queue.database_health returned no row")
    return row


async def scrape_health(conn: Connection, *, stalled_after_s: float) -> list[ScrapeRow]:
    """Return each queue and its kept dead letters, the database's health on every row."""
    params = {"stalled_after_s": stalled_after_s}
    rows = await fetch_all(conn, "scrape_health", params, ScrapeRow)
    if not rows:  # migrations seed the queues, and job types keep them there
        raise RuntimeError("queue.queues is empty: run `queue-service migrate`")
    return rows


async def capture_queue_metrics(conn: Connection) -> int:
    """Snapshot every queue into queue.queue_metrics; return how many."""
    return int(await fetch_value(conn, "capture_queue_metrics", {}))


async def raise_alert(
    conn: Connection,
    *,
    severity: str,
    alert_type: str,
    queue_name: str | None,
    value: float | None,
    threshold: float | None,
    message: str,
    channels: dict[str, Any],
) -> int | None:
    """Raise an alert unless it is cooling down; return its id, or None."""
    params = {
        "severity": severity,
        "type": alert_type,
        "queue_name": queue_name,
        "value": value,
        "threshold": threshold,
        "message": message,
        "channels": Jsonb(channels),
    }
    alert_id: int | None = await fetch_value(conn, "raise_alert", params)
    return alert_id


async def record_alert_channel(
    conn: Connection, *, alert_id: int, channel: str, result: str
) -> None:
    """Record how a channel delivered an alert."""
    params = {"alert_id": alert_id, "channel": channel, "result": result}
    await execute(conn, "record_alert_channel", params)


async def get_alert(conn: Connection, *, alert_id: int) -> AlertRow | None:
    """Return one alert, or None."""
    return await fetch_one(conn, "get_alert", {"alert_id": alert_id}, AlertRow)


async def configure_queue_thresholds(
    conn: Connection,
    *,
    queue_name: str,
    max_waiting: int | None,
    max_oldest_age_s: float | None,
    max_failed_per_hour: int | None,
) -> bool:
    """Override a queue's alert thresholds; return False when it does not exist."""
    params = {
        "queue_name": queue_name,
        "max_waiting": max_waiting,
        "max_oldest_age_s": max_oldest_age_s,
        "max_failed_per_hour": max_failed_per_hour,
    }
    return await fetch_value(conn, "configure_queue_thresholds", params) is not None
