"""Typed wrappers of `sql/queries/failures.sql`: dead letters by group."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_one, fetch_value


@dataclass(frozen=True)
class FailureGroupRow:
    """Failed jobs of one queue, job type and last error type, in the window read."""

    queue: str
    job_type: str
    error_type: str | None  # None: no attempt of these jobs recorded an error
    jobs: int
    newest_failed_at: datetime | None
    newest_failed_age_s: float | None
    newest_id: int
    sample_message: str | None  # the newest job's last error, cut short
    window_jobs: int  # failed jobs the window read, over every group


@dataclass(frozen=True)
class RetryingGroupRow:
    """Jobs of one queue, job type and last error type that wait for another attempt."""

    queue: str
    job_type: str
    error_type: str | None
    jobs: int
    newest_id: int
    sample_message: str | None
    window_jobs: int  # retrying jobs read, over every group


@dataclass(frozen=True)
class GroupRetried:
    """What a group retry found and did."""

    matched: int
    requeued: int
    requeued_ids: list[int]


async def failure_groups(
    conn: Connection, *, bound: int, sample_chars: int
) -> list[FailureGroupRow]:
    """Return the groups of the newest `bound` failed jobs, largest first."""
    params = {"bound": bound, "sample_chars": sample_chars}
    return await fetch_all(conn, "failure_groups", params, FailureGroupRow)


@dataclass(frozen=True)
class FailureGroup:
    """A group an action names: its key and the newest job of it the caller saw."""

    queue: str
    job_type: str
    error_type: str | None  # None: the jobs that recorded no error
    upto: int


def _group_params(group: FailureGroup, bound: int) -> dict[str, object]:
    return {**dataclasses.asdict(group), "bound": bound}


async def retry_failure_group(
    conn: Connection, group: FailureGroup, *, bound: int
) -> GroupRetried:
    """Requeue the group's failed jobs up to job `upto`; say how many."""
    row = await fetch_one(
        conn, "retry_failure_group", _group_params(group, bound), GroupRetried
    )
    if row is None:  # a SELECT of two aggregates returns exactly one row
        raise RuntimeError("retry_failure_group returned no row")
    return row


async def discard_failure_group(
    conn: Connection, group: FailureGroup, *, bound: int
) -> int:
    """Delete the group's failed jobs up to job `upto`; return how many."""
    params = _group_params(group, bound)
    return int(await fetch_value(conn, "discard_failure_group", params))


async def retrying_groups(
    conn: Connection, *, bound: int, sample_chars: int
) -> list[RetryingGroupRow]:
    """Return the groups of the newest `bound` jobs waiting to be retried, largest first."""
    params = {"bound": bound, "sample_chars": sample_chars}
    return await fetch_all(conn, "retrying_groups", params, RetryingGroupRow)


async def cancel_retrying_group(
    conn: Connection, group: FailureGroup, *, bound: int
) -> int:
    """Cancel the group's jobs waiting for another attempt, up to job `upto`; return how many."""
    params = _group_params(group, bound)
    return int(await fetch_value(conn, "cancel_retrying_group", params))


async def wake_queue_workers(conn: Connection, *, queue: str) -> None:
    """Wake the queue's workers when the transaction commits."""
    await execute(conn, "wake_queue_workers", {"queue": queue})


async def plan_without_jit(conn: Connection) -> None:
    """Plan the rest of the transaction's statements without JIT."""
    await execute(conn, "plan_without_jit", {})


async def hold_retried_jobs(conn: Connection, *, job_ids: list[int]) -> None:
    """Hold requeued jobs again for their dependencies that run again."""
    await execute(conn, "hold_retried_jobs", {"job_ids": job_ids})
