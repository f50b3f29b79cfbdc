"""Typed wrappers of `sql/queries/jobs.sql`: operator actions on jobs."""

from dataclasses import dataclass

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_value


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
