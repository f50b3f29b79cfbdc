"""Operator actions on jobs: cancel, retry, retry every failed job of a queue."""

from app.db import Connection
from app.db.queries import jobs as queries


async def cancel_job(conn: Connection, job_id: int) -> str:
    """Cancel a waiting job, or ask a running one to abort.

    Returns:
        The new state: "cancelled", or "aborting" for a running job (its worker
        cancels an async task; a sync task sees `should_abort`).

    Raises:
        JobNotFound: no job has this id.
        InvalidJobTransition: the job has already finished.
    """
    return await queries.cancel_job(conn, job_id=job_id)


async def retry_job(conn: Connection, job_id: int) -> None:
    """Requeue a failed (dead-lettered) job with a fresh set of attempts.

    Raises:
        JobNotFound: no job has this id.
        InvalidJobTransition: the job is not failed, or a waiting twin holds
            its queueing lock.
    """
    await queries.retry_job(conn, job_id=job_id)


async def retry_failed_jobs(conn: Connection, queue: str) -> int:
    """Requeue every failed job of `queue` (name or alias); return how many."""
    return await queries.retry_failed_jobs(conn, queue=queue)
