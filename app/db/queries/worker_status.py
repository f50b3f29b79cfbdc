"""Typed wrappers of `sql/queries/worker_status.sql`: the workers as operators see them."""

from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import fetch_all


@dataclass(frozen=True)
class WorkerLaneRow:
    """A registered worker (one lane of a process) and what it serves."""

    id: int
    last_heartbeat: datetime
    heartbeat_age_s: float
    stalled: bool
    queues: list[str]
    running: int


@dataclass(frozen=True)
class RunningJobRow:
    """A job a worker runs now; `started_at` is None while it is only claimed."""

    worker_id: int
    id: int
    job_type: str
    started_at: datetime | None
    progress_percent: float | None  # what its task last reported, if it did
    progress_message: str | None


async def list_worker_lanes(
    conn: Connection, *, stalled_after_s: float, limit: int
) -> list[WorkerLaneRow]:
    """Return up to `limit` registered workers, oldest first."""
    return await fetch_all(
        conn,
        "list_worker_lanes",
        {"stalled_after_s": stalled_after_s, "limit": limit},
        WorkerLaneRow,
    )


async def running_jobs_of_workers(
    conn: Connection, *, worker_ids: list[int], per_worker: int
) -> list[RunningJobRow]:
    """Return up to `per_worker` running jobs of each worker, oldest claim first."""
    return await fetch_all(
        conn,
        "running_jobs_of_workers",
        {"worker_ids": worker_ids, "per_worker": per_worker},
        RunningJobRow,
    )
