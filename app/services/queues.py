"""Operator actions on queues: overview, status, pause, resume, clear, jobs, policy."""

from dataclasses import dataclass
from typing import Any

from app.db import Connection
from app.db.queries import queues as queries
from app.db.queries.jobs import JobRow
from app.db.queries.queues import OverviewRow, QueueConfigRow
from app.domain.errors import UnknownQueue
from app.domain.policy import canonical_queue_name
from app.services.audit import AuditContext, record

__all__ = ["JobRow", "OverviewRow", "QueueConfigRow", "QueueStatus"]

SAMPLE_SIZE = 10
STATES = (
    "waiting",
    "delayed",
    "waiting-children",
    "active",
    "completed",
    "failed",
    "cancelled",
    "aborted",
)
CLEARABLE = ("completed", "failed", "delayed", "wait")


@dataclass(frozen=True)
class QueueStatus:
    """A queue's counts and a few jobs of each interesting state."""

    overview: OverviewRow
    waiting: list[JobRow]
    active: list[JobRow]
    failed: list[JobRow]


def _unknown(queue: str) -> UnknownQueue:
    return UnknownQueue(f'unknown queue "{queue}"', queue=queue)


async def overview(conn: Connection) -> list[OverviewRow]:
    """Return every queue's counts: waiting, scheduled, running, last hour's outcomes."""
    return await queries.queue_overview(conn)


async def status(conn: Connection, queue: str) -> QueueStatus:
    """Return one queue's counts and up to ten waiting, active and failed jobs.

    Raises:
        UnknownQueue: no queue has this name.
    """
    name = canonical_queue_name(queue)
    row = next((r for r in await queries.queue_overview(conn) if r.queue == name), None)
    if row is None:
        raise _unknown(queue)
    samples = {
        state: await queries.list_queue_jobs(
            conn, queue=name, status=state, offset=0, limit=SAMPLE_SIZE
        )
        for state in ("waiting", "active", "failed")
    }
    return QueueStatus(row, samples["waiting"], samples["active"], samples["failed"])


async def set_paused(
    conn: Connection, queue: str, *, paused: bool, audit: AuditContext | None = None
) -> None:
    """Pause or resume `queue` (name or alias) for every worker process.

    Pausing takes effect at each worker's next fetch: running jobs finish and
    nothing more is claimed. Resuming wakes the workers through NOTIFY.

    Raises:
        UnknownQueue: no queue has this name.
    """
    async with conn.transaction():
        if not await queries.set_queue_paused(conn, queue=queue, paused=paused):
            raise _unknown(queue)
        if audit is not None:
            await record(
                conn,
                audit,
                "queue.pause" if paused else "queue.resume",
                f"queue:{canonical_queue_name(queue)}",
            )


async def clear(conn: Connection, queue: str, kind: str, *, audit: AuditContext) -> int:
    """Remove the queue's jobs in one state (completed, failed, delayed, wait); return how many.

    Raises:
        UnknownQueue: no queue has this name.
        InvalidEnqueueRequest: an unknown state.
    """
    name = canonical_queue_name(queue)
    async with conn.transaction():
        removed = await queries.clear_queue(conn, queue=name, kind=kind)
        await record(
            conn, audit, "queue.clear", f"queue:{name}", type=kind, removed=removed
        )
    return removed


async def jobs(
    conn: Connection, queue: str, state: str, *, start: int, end: int
) -> list[JobRow]:
    """Return the queue's jobs in `state`, positions `start` to `end` inclusive.

    Raises:
        UnknownQueue: no queue has this name.
    """
    name = canonical_queue_name(queue)
    if await queries.get_queue_config(conn, queue=name) is None:
        raise _unknown(queue)
    return await queries.list_queue_jobs(
        conn, queue=name, status=state, offset=start, limit=end - start + 1
    )


async def config(conn: Connection, queue: str) -> QueueConfigRow:
    """Return the queue's policy.

    Raises:
        UnknownQueue: no queue has this name.
    """
    row = await queries.get_queue_config(conn, queue=queue)
    if row is None:
        raise _unknown(queue)
    return row


async def update_config(
    conn: Connection,
    queue: str,
    changes: dict[str, Any],
    *,
    clear_backoff_cap: bool,
    audit: AuditContext,
) -> QueueConfigRow:
    """Change the queue's policy and audit the change; return the new policy.

    Workers apply retry and retention changes within seconds; a new
    concurrency at their next start.

    Raises:
        UnknownQueue: no queue has this name.
        RuleViolated: the change breaks a rule of the table (e.g. a cap below the base).
    """
    async with conn.transaction():
        if not await queries.update_queue_config(
            conn, queue=queue, changes=changes, clear_backoff_cap=clear_backoff_cap
        ):
            raise _unknown(queue)
        await record(
            conn,
            audit,
            "queue.config",
            f"queue:{canonical_queue_name(queue)}",
            **changes,
        )
    return await config(conn, queue)
