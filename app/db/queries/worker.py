"""Typed wrappers of `sql/queries/worker.sql`: what a worker process runs."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_value
from app.db.queries.tasks import AnalyticsEvent


@dataclass(frozen=True)
class ClaimedJob:
    """A job row claimed for a worker, as procrastinate's Job.from_row expects it."""

    id: int
    queue_name: str
    task_name: str
    priority: int
    lock: str | None
    queueing_lock: str | None
    args: dict[str, Any]
    status: str
    scheduled_at: datetime | None
    attempts: int
    abort_requested: bool
    worker_id: int | None


@dataclass(frozen=True)
class Completion:
    """The end of one attempt, to be written with queue.finish_jobs."""

    job_id: int
    status: str
    error_type: str | None
    error_message: str | None
    result: Any
    started_at: datetime
    finished_at: datetime
    worker_id: int | None  # the worker that claimed the job
    # Rows the task asked to be written in the transaction that completes it.
    analytics: tuple[AnalyticsEvent, ...] = ()


@dataclass(frozen=True)
class WorkerId:
    """A worker row that exists."""

    id: int


@dataclass(frozen=True)
class RescuedJob:
    """A job the rescue returned to its queue, failed or cancelled."""

    job_id: int
    queue_name: str
    outcome: str


@dataclass(frozen=True)
class KeyedOutcome:
    """A succeeded attempt and the idempotency key it was recorded under."""

    idempotency_key: str
    job_id: int
    result: Any


@dataclass(frozen=True)
class RecordedOutcome:
    """A succeeded attempt recorded under an idempotency key."""

    job_id: int
    result: Any


async def fetch_jobs(
    conn: Connection, *, queue_name: str, worker_id: int, max_jobs: int
) -> list[ClaimedJob]:
    """Claim up to `max_jobs` due jobs of `queue_name` for `worker_id`."""
    params = {"queue_name": queue_name, "worker_id": worker_id, "max_jobs": max_jobs}
    return await fetch_all(conn, "fetch_jobs", params, ClaimedJob)


async def finish_jobs(conn: Connection, *, completions: Sequence[Completion]) -> int:
    """Complete a batch of attempts; return how many jobs were still ours to complete."""
    params = {
        "job_ids": [c.job_id for c in completions],
        "statuses": [c.status for c in completions],
        "error_types": [c.error_type for c in completions],
        "error_messages": [c.error_message for c in completions],
        "results": [None if c.result is None else Jsonb(c.result) for c in completions],
        "started_at": [c.started_at for c in completions],
        "finished_at": [c.finished_at for c in completions],
        "worker_ids": [c.worker_id for c in completions],
    }
    return int(await fetch_value(conn, "finish_jobs", params))


async def mark_jobs_started(
    conn: Connection, *, job_ids: Sequence[int], worker_id: int
) -> None:
    """Record that `worker_id` started these jobs (a mark the completion deletes)."""
    await execute(
        conn, "mark_jobs_started", {"job_ids": list(job_ids), "worker_id": worker_id}
    )


async def release_jobs(conn: Connection, *, job_ids: Sequence[int]) -> None:
    """Return claimed jobs that never started to their queue, without counting an attempt."""
    await execute(conn, "release_jobs", {"job_ids": list(job_ids)})


async def requeue_job(
    conn: Connection,
    *,
    job_id: int,
    retry_at: datetime | None,
    count_attempt: bool,
    outcome: str | None,
    error_type: str | None,
    error_message: str | None,
    started_at: datetime,
    finished_at: datetime,
    priority: int | None = None,
    queue_name: str | None = None,
    lock: str | None = None,
    claimed_by: int | None = None,
) -> str | None:
    """Put a running job back in its queue; return its new status (None: not ours any more).

    `outcome` None writes no outcome row (a job turned away by an open breaker).
    """
    params = {
        "job_id": job_id,
        "retry_at": retry_at,
        "count_attempt": count_attempt,
        "outcome": outcome,
        "error_type": error_type,
        "error_message": error_message,
        "started_at": started_at,
        "finished_at": finished_at,
        "priority": priority,
        "queue_name": queue_name,
        "lock": lock,
        "claimed_by": claimed_by,
    }
    status: str | None = await fetch_value(conn, "requeue_job", params)
    return status


async def rescue_stalled_jobs(
    conn: Connection, *, stalled_after_s: float
) -> list[RescuedJob]:
    """Return the running jobs of silent workers to their queues."""
    return await fetch_all(
        conn, "rescue_stalled_jobs", {"stalled_after_s": stalled_after_s}, RescuedJob
    )


async def resolve_missed_endings(conn: Connection) -> int:
    """Count the job endings dependants and batches missed; return how many."""
    return int(await fetch_value(conn, "resolve_missed_endings", {}))


async def succeeded_outcomes_for_keys(
    conn: Connection, *, keys: Sequence[str]
) -> dict[str, RecordedOutcome]:
    """Return, by key, the first succeeded attempt recorded under each of these keys."""
    rows = await fetch_all(
        conn, "succeeded_outcomes_for_keys", {"keys": list(keys)}, KeyedOutcome
    )
    return {
        row.idempotency_key: RecordedOutcome(row.job_id, row.result) for row in rows
    }


async def register_worker_queue(
    conn: Connection, *, worker_id: int, queue_name: str
) -> None:
    """Record that `worker_id` serves `queue_name`."""
    await execute(
        conn,
        "register_worker_queue",
        {"worker_id": worker_id, "queue_name": queue_name},
    )


async def heartbeat_workers(conn: Connection, *, worker_ids: Sequence[int]) -> set[int]:
    """Heartbeat these workers; return the ids whose rows still exist."""
    rows = await fetch_all(
        conn, "heartbeat_workers", {"worker_ids": list(worker_ids)}, WorkerId
    )
    return {row.id for row in rows}


async def prune_stalled_workers(conn: Connection, *, stalled_after_s: float) -> None:
    """Delete the rows of workers silent for `stalled_after_s` while the database was up."""
    await execute(conn, "prune_stalled_workers", {"stalled_after_s": stalled_after_s})


async def age_priorities(conn: Connection, *, max_jobs: int) -> int:
    """Raise the priority of jobs waiting past their queue's aging period; return how many."""
    return int(await fetch_value(conn, "age_priorities", {"max_jobs": max_jobs}))
