"""Operator actions on jobs: cancel, retry, retry every failed job of a queue."""

from dataclasses import dataclass

from app.db import Connection
from app.db.queries import explain as explain_queries
from app.db.queries import jobs as queries
from app.db.queries.explain import ReasonRow
from app.db.queries.jobs import JobRow, OutcomeRow
from app.domain.access import Principal, can_manage_job, can_see_job
from app.domain.errors import Forbidden, JobNotFound
from app.domain.policy import canonical_queue_name
from app.services.audit import AuditContext, record

__all__ = ["JobRow", "OutcomeRow", "ReasonRow"]


async def get_job(
    conn: Connection, principal: Principal, job_id: int, *, queue: str | None = None
) -> JobRow:
    """Return a job the caller may see, in `queue` when one is named.

    Ids are unique across queues; old clients still name the queue (name or
    alias) the old service looked the job up in, and a job of another queue
    was not found there.

    Raises:
        JobNotFound: no such job, one the caller may not see (its existence
            is not revealed), or one of another queue than `queue`.
    """
    job = await queries.get_job(conn, job_id=job_id)
    if job is None or not can_see_job(
        principal, user_id=job.user_id, venue_id=job.venue_id
    ):
        raise JobNotFound(f"job {job_id} does not exist", job_id=job_id)
    if queue is not None and canonical_queue_name(queue) != job.queue:
        raise JobNotFound(f"job {job_id} is not in queue {queue}", job_id=job_id)
    return job


async def list_outcomes(
    conn: Connection, principal: Principal, job_id: int
) -> list[OutcomeRow]:
    """Return every attempt of a job the caller may see."""
    await get_job(conn, principal, job_id)
    return await queries.list_job_outcomes(conn, job_id=job_id)


async def check_may_manage(
    conn: Connection, principal: Principal, job_id: int, *, queue: str | None = None
) -> JobRow:
    """Return the job if the caller may retry or cancel it.

    Raises:
        JobNotFound: as `get_job`.
        Forbidden: the caller sees the job but may not change it.
    """
    job = await get_job(conn, principal, job_id, queue=queue)
    if not can_manage_job(principal, venue_id=job.venue_id):
        raise Forbidden("your role may not retry or cancel jobs")
    return job


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


async def retry_as(
    conn: Connection,
    principal: Principal,
    job_id: int,
    *,
    audit: AuditContext,
    queue: str | None = None,
) -> None:
    """Retry a failed job (of `queue`, when named) for an HTTP caller, audited, in one transaction."""
    async with conn.transaction():
        await check_may_manage(conn, principal, job_id, queue=queue)
        await queries.retry_job(conn, job_id=job_id)
        await record(conn, audit, "job.retry", f"job:{job_id}")


async def cancel_as(
    conn: Connection,
    principal: Principal,
    job_id: int,
    *,
    audit: AuditContext,
    queue: str | None = None,
) -> str:
    """Cancel or abort a job (of `queue`, when named) for an HTTP caller, audited, in one transaction."""
    async with conn.transaction():
        await check_may_manage(conn, principal, job_id, queue=queue)
        state = await queries.cancel_job(conn, job_id=job_id)
        await record(conn, audit, "job.cancel", f"job:{job_id}", state=state)
    return state


@dataclass(frozen=True)
class JobExplanation:
    """A job and why it is not running."""

    job: JobRow
    reasons: list[ReasonRow]


async def explain_job(
    conn: Connection, principal: Principal, job_id: int, *, stalled_after_s: float
) -> JobExplanation:
    """Return why a job the caller may see is not running, most decisive reason first.

    A worker counts as listening when it heartbeated within `stalled_after_s`.

    Raises:
        JobNotFound: as `get_job`.
    """
    job = await get_job(conn, principal, job_id)
    reasons = await explain_queries.explain_job(
        conn, job_id=job_id, stalled_after_s=stalled_after_s
    )
    return JobExplanation(job=job, reasons=reasons)
