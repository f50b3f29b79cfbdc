"""Typed wrappers of `sql/queries/jobs.sql`: operator actions on jobs."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_one, fetch_value


@dataclass(frozen=True)
class JobRow:
    """A job as `queue.jobs` shows it."""

    id: int
    queue: str
    job_type: str
    state: str
    priority: int
    attempts: int
    max_attempts: int | None
    enqueued_at: datetime | None
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    last_error_type: str | None
    last_error: str | None
    idempotency_key: str | None
    user_id: str | None
    venue_id: str | None
    request_id: str | None
    data: Any
    # What the task last reported (queue.report_progress); None if it never did.
    progress_percent: float | None = None
    progress_message: str | None = None
    progress_at: datetime | None = None
    # Held by its dependencies or its batch (no run time yet), and how many
    # of its dependencies it still waits for.
    held: bool = False
    waiting_for: int | None = None
    concurrency_key: str | None = None


@dataclass(frozen=True)
class OutcomeRow:
    """One attempt of a job."""

    attempt: int
    status: str
    error_type: str | None
    error_message: str | None
    result: Any
    started_at: datetime
    finished_at: datetime


@dataclass(frozen=True)
class RetentionCount:
    """Rows one retention batch deleted from one table."""

    table_name: str
    deleted: int


async def cancel_job(conn: Connection, *, job_id: int) -> str:
    """Cancel a waiting job or request the abort of a running one; return the new state."""
    state: str = await fetch_value(conn, "cancel_job", {"job_id": job_id})
    return state


async def retry_job(conn: Connection, *, job_id: int) -> None:
    """Requeue one failed job with a fresh set of attempts."""
    await execute(conn, "retry_job", {"job_id": job_id})


async def retry_failed_jobs(conn: Connection, *, queue: str) -> int:
    """Requeue every failed job of `queue`; return how many."""
    return int(await fetch_value(conn, "retry_failed_jobs", {"queue": queue}))


async def run_retention(conn: Connection, *, batch_size: int) -> list[RetentionCount]:
    """Run one bounded batch of retention."""
    return await fetch_all(
        conn, "run_retention", {"batch_size": batch_size}, RetentionCount
    )


async def get_job_state(conn: Connection, *, job_id: int) -> str | None:
    """Return the job's state, or None when it does not exist."""
    state: str | None = await fetch_value(conn, "get_job_state", {"job_id": job_id})
    return state


async def get_job(conn: Connection, *, job_id: int) -> JobRow | None:
    """Return the job, or None."""
    return await fetch_one(conn, "get_job", {"job_id": job_id}, JobRow)


async def list_job_outcomes(conn: Connection, *, job_id: int) -> list[OutcomeRow]:
    """Return every attempt of the job, oldest first."""
    return await fetch_all(conn, "list_job_outcomes", {"job_id": job_id}, OutcomeRow)


async def get_request_hash(
    conn: Connection, *, job_id: int, idempotency_key: str | None
) -> str | None:
    """Return the request fingerprint stored with the key that names this job."""
    params = {"job_id": job_id, "idempotency_key": idempotency_key}
    request_hash: str | None = await fetch_value(conn, "get_request_hash", params)
    return request_hash
