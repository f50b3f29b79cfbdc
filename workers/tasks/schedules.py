"""Periodic run of the schedules in `queue.schedules` (task `run-schedules`).

procrastinate defers each periodic run once for all worker processes; should
two runs still overlap (a slow run, a second deployment), each schedule is
claimed with SKIP LOCKED and each run carries the idempotency key
`schedule-<name>-<run time>`, so a run is enqueued once.
"""

import logging
from typing import Any

from procrastinate.job_context import JobContext

from app.services.schedules import run_due
from workers.deps import DEPS_KEY, WorkerDeps
from workers.tasks.registry import task_body

logger = logging.getLogger(__name__)

# Schedules have minute resolution; checking four times a minute starts a run
# at most 15 s late.
SCHEDULES_EVERY_S = 15


@task_body("run-schedules")
async def run_schedules(
    context: JobContext, /, timestamp: int | None = None, **_: Any
) -> dict[str, int]:
    """Enqueue the due run of every active schedule and advance it.

    After an outage only each schedule's latest missed run is enqueued. Safe
    to retry and to run concurrently (rows are claimed with SKIP LOCKED, runs
    keyed per schedule and run time). Defers the schedules' jobs through
    `queue.enqueue`, in the transaction that advances each schedule.
    """
    del timestamp
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    async with deps.pool.connection() as conn:
        runs = await run_due(conn)
    counts = {"enqueued": 0, "duplicates": 0, "failed": 0, "planned": 0, "skipped": 0}
    for run in runs:
        counts["skipped"] += run.skipped
        extra = {
            "schedule": run.schedule,
            "run_at": run.run_at.isoformat() if run.run_at else None,
            "next_run_at": run.next_run_at.isoformat() if run.next_run_at else None,
        }
        if run.error is not None:
            counts["failed"] += 1
            logger.error(
                "A schedule's run was not enqueued.",
                extra={**extra, "action": "schedule_failed", "error": run.error},
            )
        elif run.run_at is None:
            counts["planned"] += 1
        elif run.duplicate:
            counts["duplicates"] += 1
        else:
            counts["enqueued"] += 1
            logger.info(
                "Enqueued a scheduled run.",
                extra={**extra, "action": "job_enqueued", "job_id": run.job_id},
            )
        if run.skipped:
            logger.warning(
                "Skipped missed runs of a schedule; enqueued only the latest.",
                extra={
                    **extra,
                    "action": "schedule_runs_skipped",
                    "skipped": run.skipped,
                },
            )
    return counts
