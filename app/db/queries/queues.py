"""Typed wrappers of `sql/queries/queues.sql`."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.db import Connection
from app.db.queries import fetch_all, fetch_one, fetch_value
from app.db.queries.jobs import JobRow


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
    execution_timeout_s: float


@dataclass(frozen=True)
class JobTypeTimeout:
    """A job type's own execution timeout."""

    name: str
    execution_timeout_s: float


@dataclass(frozen=True)
class QueueName:
    """A queue's canonical name."""

    name: str


async def list_queues(conn: Connection) -> list[QueueRow]:
    """Return every queue's policy."""
    return await fetch_all(conn, "list_queues", {}, QueueRow)


async def list_job_type_timeouts(conn: Connection) -> list[JobTypeTimeout]:
    """Return the job types that set their own execution timeout."""
    return await fetch_all(conn, "list_job_type_timeouts", {}, JobTypeTimeout)


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


@dataclass(frozen=True)
class QueueConfigRow:
    """A queue's editable policy, durations in seconds."""

    name: str
    tier: str
    max_attempts: int
    backoff: str
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
    key_concurrency: int | None
    paused: bool
    updated_at: datetime


async def list_queue_jobs(
    conn: Connection, *, queue: str, status: str, offset: int, limit: int
) -> list[JobRow]:
    """Return a page of the queue's jobs in one API state."""
    params = {"queue": queue, "status": status, "offset": offset, "limit": limit}
    return await fetch_all(conn, "list_queue_jobs", params, JobRow)


async def clear_queue(conn: Connection, *, queue: str, kind: str) -> int:
    """Remove the queue's jobs in one state; return how many."""
    return int(await fetch_value(conn, "clear_queue", {"queue": queue, "kind": kind}))


async def get_queue_config(conn: Connection, *, queue: str) -> QueueConfigRow | None:
    """Return the queue's policy, or None."""
    return await fetch_one(conn, "get_queue_config", {"queue": queue}, QueueConfigRow)


CONFIG_FIELDS = (
    "max_attempts",
    "backoff",
    "backoff_base_s",
    "backoff_factor",
    "backoff_cap_s",
    "backoff_jitter",
    "keep_succeeded_s",
    "keep_failed_s",
    "keep_results",
    "concurrency",
    "alert_max_waiting",
    "alert_max_oldest_age_s",
    "alert_max_failed_per_hour",
    "idempotency_key_ttl_s",
    "execution_timeout_s",
    "priority_aging_s",
    "key_concurrency",
)


async def update_queue_config(
    conn: Connection, *, queue: str, changes: dict[str, Any], clear_backoff_cap: bool
) -> bool:
    """Apply `changes` (fields of CONFIG_FIELDS) to the queue; return False if it does not exist."""
    unknown = set(changes) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"not queue policy fields: {sorted(unknown)}")
    params = {field: changes.get(field) for field in CONFIG_FIELDS}
    params.update(queue=queue, clear_backoff_cap=clear_backoff_cap)
    return await fetch_value(conn, "update_queue_config", params) is not None
