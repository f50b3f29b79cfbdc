"""Attempts: how one ended, from the job chain to the lane that settles it.

Also the claimed row as procrastinate's Job, and the key it carries.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from procrastinate.jobs import Job

from app.db.queries.worker import ClaimedJob

Ending = Literal[
    "succeeded", "failed", "interrupted", "aborted", "deduplicated", "rate_limited"
]


@dataclass(frozen=True)
class Attempt:
    """How one attempt of a job ended."""

    started_at: datetime
    finished_at: datetime
    ending: Ending
    error_type: str | None = None
    error_message: str | None = None
    result: Any = None


def job_id_of(job: Job) -> int:
    """Return the id of a job fetched from the database (which always has one)."""
    if job.id is None:
        raise RuntimeError(f"job {job.task_name} has no id: it was never saved")
    return job.id


def claimed_job(row: ClaimedJob) -> Job:
    """Return procrastinate's Job for a row the lane claimed."""
    return Job(
        id=row.id,
        status=row.status,
        priority=row.priority,
        lock=row.lock,
        queueing_lock=row.queueing_lock,
        task_name=row.task_name,
        task_kwargs=row.args,
        scheduled_at=row.scheduled_at,
        queue=row.queue_name,
        attempts=row.attempts,
        abort_requested=row.abort_requested,
        worker_id=row.worker_id,
    )


# The unique modes in which later jobs reuse a key (`queue.enqueue_unique_modes`).
REUSED_KEY_MODES = frozenset({"active", "waiting"})


def idempotency_key(row: ClaimedJob) -> str | None:
    """Return the key whose earlier success answers a claimed job, if any.

    A job whose key frees itself (`unique_while` active or waiting) is a new
    piece of work under a key an earlier job held: that job's success is not
    its answer.
    """
    meta = row.args.get("meta") if isinstance(row.args, dict) else None
    if not isinstance(meta, dict) or meta.get("unique_while") in REUSED_KEY_MODES:
        return None
    key = meta.get("idempotency_key")
    return key if isinstance(key, str) else None


def refusal(what: str, ending: str, exc: BaseException) -> str:
    """Say why an attempt that ended (`ending`) could not be written as such.

    The database's message, without NUL (it would be refused again) and short.
    """
    reason = str(exc).replace("\x00", "")[:500]
    return f"the attempt ended ({ending}) but its {what} was refused: {reason}"
