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

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from app.db import Connection
from app.db.queries import failures as queries
from app.db.queries.failures import (
    FailureGroup,
    FailureGroupRow,
    GroupRetried,
    RetryingGroupRow,
)
from app.services.audit import AuditContext, record

__all__ = ["FailureGroup", "FailureGroupRow", "GroupRetried", "RetryingGroupRow"]

Done = TypeVar("Done")

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


async def _audited(
    conn: Connection,
    group: FailureGroup,
    audit: AuditContext,
    action: str,
    act: Callable[[], Awaitable[Done]],
    count: Callable[[Done], dict[str, int]],
) -> Done:
    # One shape for every group action: its statement without JIT (see
    # plan_without_jit) and its one audit row, in one transaction.
    async with conn.transaction():
        await queries.plan_without_jit(conn)
        done = await act()
        await record(
            conn,
            audit,
            action,
            f"queue:{group.queue}",
            job_type=group.job_type,
            error_type=group.error_type,
            upto=group.upto,
            **count(done),
        )
    return done


async def retry_group(
    conn: Connection, group: FailureGroup, *, audit: AuditContext
) -> GroupRetried:
    """Requeue the group's failed jobs with fresh attempts, audited once with the count.

    A job whose queueing lock a waiting job holds stays failed (`matched`
    counts it, `requeued` does not). The queue's workers are woken on commit.
    """

    async def act() -> GroupRetried:
        done = await queries.retry_failure_group(conn, group, bound=ACTION_BOUND)
        if done.requeued:
            await queries.hold_retried_jobs(conn, job_ids=done.requeued_ids)
            await queries.wake_queue_workers(conn, queue=group.queue)
        return done

    return await _audited(
        conn,
        group,
        audit,
        "failures.retry",
        act,
        lambda done: {"count": done.requeued, "held": done.matched - done.requeued},
    )


async def discard_group(
    conn: Connection, group: FailureGroup, *, audit: AuditContext
) -> int:
    """Delete the group's failed jobs, audited once with the count; return how many.

    As clearing a queue's failed jobs does: their outcomes and idempotency
    keys stay until retention lets them go.
    """
    return await _audited(
        conn,
        group,
        audit,
        "failures.discard",
        lambda: queries.discard_failure_group(conn, group, bound=ACTION_BOUND),
        lambda removed: {"count": removed},
    )


async def cancel_retrying(
    conn: Connection, group: FailureGroup, *, audit: AuditContext
) -> int:
    """Cancel the group's jobs waiting for another attempt, audited once; return how many."""
    return await _audited(
        conn,
        group,
        audit,
        "failures.cancel",
        lambda: queries.cancel_retrying_group(conn, group, bound=ACTION_BOUND),
        lambda cancelled: {"count": cancelled},
    )
