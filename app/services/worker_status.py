"""The live workers: each lane's heartbeat, the queues it serves, what it runs.

Every lane of a worker process registers as one procrastinate worker
(`procrastinate_workers`) and records the queue it serves
(`queue.worker_queues`); its claimed jobs carry its id while they are
`doing`. Read-only: stalled workers are pruned, and their jobs rescued, by
the periodic tasks, not from here.
"""

from dataclasses import dataclass

from app.db import Connection
from app.db.queries import worker_status as queries
from app.db.queries.worker_status import RunningJobRow, WorkerLaneRow

__all__ = ["RunningJobRow", "WorkerLaneRow", "WorkerStatus", "Workers"]

# Far more lanes than a fleet runs (a lane per queue of each process); the page says when
# there are more.
WORKER_LIMIT = 500
# Running jobs listed per worker; its count says how many it runs in all.
JOBS_PER_WORKER = 20


@dataclass(frozen=True)
class WorkerStatus:
    """One worker and the first of the jobs it runs (`lane.running` in all)."""

    lane: WorkerLaneRow
    jobs: list[RunningJobRow]


@dataclass(frozen=True)
class Workers:
    """The workers read, and whether more exist than were read."""

    workers: list[WorkerStatus]
    more: bool


async def list_workers(
    conn: Connection,
    *,
    stalled_after_s: float,
    limit: int = WORKER_LIMIT,
    per_worker: int = JOBS_PER_WORKER,
) -> Workers:
    """Return the registered workers, oldest first, with jobs they run now.

    A worker is stalled as the rescue sees it: silent for `stalled_after_s`
    while the database was up. Two statements: a job that ends between them
    is counted but not listed.
    """
    lanes = await queries.list_worker_lanes(
        conn, stalled_after_s=stalled_after_s, limit=limit + 1
    )
    more = len(lanes) > limit
    lanes = lanes[:limit]
    busy = [lane.id for lane in lanes if lane.running]
    jobs: dict[int, list[RunningJobRow]] = {}
    if busy:
        for job in await queries.running_jobs_of_workers(
            conn, worker_ids=busy, per_worker=per_worker
        ):
            jobs.setdefault(job.worker_id, []).append(job)
    return Workers(
        workers=[WorkerStatus(lane, jobs.get(lane.id, [])) for lane in lanes],
        more=more,
    )
