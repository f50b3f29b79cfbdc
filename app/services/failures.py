"""Failures by group: retrying or discarding dead letters, cancelling retries.

Two kinds of failed job are grouped: the dead letters (failed for good) and
the jobs that failed an attempt and wait for another. An operator retries or
discards a group of the first kind, and cancels a group of the second (a
cause that more attempts will not fix: a declined card, a bad address).

A group is the failed jobs of one queue and job type whose last error has one
type; it is what an operator fixes a cause for. Only the newest `WINDOW`
failed jobs are read, so the report costs the same whatever the history holds
(retention's keep_failed bounds how many are kept): the page took a median
110 ms with 2,000 read, 260 ms with 10,000, a million finished jobs beside them (`python -m
bench console`). An action reads the group's queue as far back as
`ACTION_BOUND` failed jobs, and no further than the newest job the page showed.
"""

from dataclasses import dataclass

from app.db import Connection
from app.db.queries import failures as queries
from app.db.queries.failures import FailureGroupRow, GroupRetried, RetryingGroupRow
from app.services.audit import AuditContext, record

__all__ = ["FailureGroupRow", "GroupRetried", "RetryingGroupRow"]

WINDOW = 2_000
ACTION_BOUND = 10_000
SAMPLE_CHARS = 500


@dataclass(frozen=True)
class FailureReport:
    """The groups of the window read, largest first, and whether the window was full."""

    groups: list[FailureGroupRow]
    window: int
    window_jobs: int
    retrying: list[RetryingGroupRow]
    action_bound: int = ACTION_BOUND

    @property
    def window_full(self) -> bool:
        """Whether older failed jobs may exist beyond what was read."""
        return self.window_jobs >= self.window


@dataclass(frozen=True)
class FailureGroup:
    """The group an action names: its key and the newest job of it the caller saw."""

    queue: str
    job_type: str
    error_type: str | None
    upto: int


async def report(conn: Connection) -> FailureReport:
    """Return the failed jobs of the window, grouped by queue, job type and error type."""
    async with conn.transaction():
        await queries.plan_without_jit(conn)
        groups = await queries.failure_groups(
            conn, bound=WINDOW, sample_chars=SAMPLE_CHARS
        )
        retrying = await queries.retrying_groups(
            conn, bound=WINDOW, sample_chars=SAMPLE_CHARS
        )
    read = groups[0].window_jobs if groups else 0
    return FailureReport(
        groups=groups, window=WINDOW, window_jobs=read, retrying=retrying
    )


def _details(group: FailureGroup) -> dict[str, object]:
    return {
        "job_type": group.job_type,
        "error_type": group.error_type,
        "upto": group.upto,
    }


async def retry_group(
    conn: Connection, group: FailureGroup, *, audit: AuditContext
) -> GroupRetried:
    """Requeue the group's failed jobs with fresh attempts, audited once with the count.

    A job whose queueing lock a waiting job holds stays failed (`matched`
    counts it, `requeued` does not). The queue's workers are woken on commit.
    """
    async with conn.transaction():
        await queries.plan_without_jit(conn)
        done = await queries.retry_failure_group(
            conn,
            queue=group.queue,
            job_type=group.job_type,
            error_type=group.error_type,
            upto=group.upto,
            bound=ACTION_BOUND,
        )
        if done.requeued:
            await queries.wake_queue_workers(conn, queue=group.queue)
        await record(
            conn,
            audit,
            "failures.retry",
            f"queue:{group.queue}",
            **_details(group),
            count=done.requeued,
            held=done.matched - done.requeued,
        )
    return done


async def discard_group(
    conn: Connection, group: FailureGroup, *, audit: AuditContext
) -> int:
    """Delete the group's failed jobs, audited once with the count; return how many.

    As clearing a queue's failed jobs does: their outcomes and idempotency
    keys stay until retention lets them go.
    """
    async with conn.transaction():
        await queries.plan_without_jit(conn)
        removed = await queries.discard_failure_group(
            conn,
            queue=group.queue,
            job_type=group.job_type,
            error_type=group.error_type,
            upto=group.upto,
            bound=ACTION_BOUND,
        )
        await record(
            conn,
            audit,
            "failures.discard",
            f"queue:{group.queue}",
            **_details(group),
            count=removed,
        )
    return removed


async def cancel_retrying(
    conn: Connection, group: FailureGroup, *, audit: AuditContext
) -> int:
    """Cancel the group's jobs waiting for another attempt, audited once; return how many."""
    async with conn.transaction():
        await queries.plan_without_jit(conn)
        cancelled = await queries.cancel_retrying_group(
            conn,
            queue=group.queue,
            job_type=group.job_type,
            error_type=group.error_type,
            upto=group.upto,
            bound=ACTION_BOUND,
        )
        await record(
            conn,
            audit,
            "failures.cancel",
            f"queue:{group.queue}",
            **_details(group),
            count=cancelled,
        )
    return cancelled
