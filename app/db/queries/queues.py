"""Typed wrappers of `sql/queries/queues.sql`."""

from dataclasses import dataclass
from datetime import timedelta

from app.db import Connection
from app.db.queries import fetch_all


@dataclass(frozen=True)
class QueueRow:
    """A queue's policy row."""

    name: str
    tier: str
    max_attempts: int
    backoff: str
    backoff_base_s: float
    backoff_factor: float
    backoff_cap_s: float | None
    backoff_jitter: bool
    keep_succeeded: timedelta
    keep_failed: timedelta
    keep_results: bool
    concurrency: int
    paused: bool


@dataclass(frozen=True)
class QueueName:
    """A queue's canonical name."""

    name: str


async def list_queues(conn: Connection) -> list[QueueRow]:
    """Return every queue's policy."""
    return await fetch_all(conn, "list_queues", {}, QueueRow)


async def set_queue_paused(conn: Connection, *, queue: str, paused: bool) -> bool:
    """Pause or resume a queue; return False when no queue has that name."""
    rows = await fetch_all(
        conn, "set_queue_paused", {"queue": queue, "paused": paused}, QueueName
    )
    return bool(rows)


@dataclass(frozen=True)
class OverviewRow:
    """A queue's row of `queue.overview`."""

    queue: str
    tier: str
    paused: bool
    waiting: int
    scheduled: int
    running: int
    failed_last_hour: int
    succeeded_last_hour: int
    oldest_waiting_age_s: float | None
    concurrency: int
    max_attempts: int


async def queue_overview(conn: Connection) -> list[OverviewRow]:
    """Return the overview of every queue."""
    return await fetch_all(conn, "queue_overview", {}, OverviewRow)
