"""Periodic maintenance: stalled-job rescue, priority aging and retention.

procrastinate defers each periodic run once for all worker processes (a unique
row per task and timestamp), so there is no leader to elect.
"""

import logging
from typing import Any

from procrastinate.job_context import JobContext

from app.db.queries.worker import (
    age_priorities,
    rescue_stalled_jobs,
    resolve_missed_endings,
)
from app.observability import metrics
from app.services.retention import run_retention
from workers.deps import DEPS_KEY, WorkerDeps
from workers.tasks.registry import task_body

logger = logging.getLogger(__name__)


def rescue_task(stalled_after_s: float) -> Any:
    """Return the rescue task body for the configured heartbeat timeout."""

    async def rescue_stalled(
        context: JobContext, /, timestamp: int | None = None, **_: Any
    ) -> dict[str, int]:
        """Return running jobs of workers silent for too long to their queue.

        Counts the lost attempt of a started job; fails jobs whose attempts are
        spent; returns a claimed, unstarted job uncounted; cancels a job whose
        queueing lock a waiting twin now holds. Then counts the job endings
        that dependants and batches missed (`queue.resolve_missed_endings`).
        Safe to retry and to run concurrently (rows are claimed with SKIP
        LOCKED). Defers nothing.
        """
        del timestamp
        deps: WorkerDeps = context.additional_context[DEPS_KEY]
        async with deps.pool.connection() as conn:
            rescued = await rescue_stalled_jobs(conn, stalled_after_s=stalled_after_s)
            missed = await resolve_missed_endings(conn)
        counts = dict.fromkeys(("rescued", "returned", "failed", "cancelled"), 0)
        counts["endings_counted"] = missed
        for job in rescued:
            counts[job.outcome] += 1
            metrics.JOBS_RESCUED.labels(job.queue_name, job.outcome).inc()
            logger.warning(
                "Rescued a job of a silent worker.",
                extra={
                    "action": "job_rescued",
                    "job_id": job.job_id,
                    "queue": job.queue_name,
                    "outcome": job.outcome,
                },
            )
        return counts

    return rescue_stalled


AGE_PRIORITIES_EVERY_S = 30
AGE_PRIORITIES_MAX_JOBS = 10_000


@task_body("age-priorities")
async def age_waiting_priorities(
    context: JobContext, /, timestamp: int | None = None, **_: Any
) -> dict[str, int]:
    """Raise the priority of jobs that waited past their queue's priority_aging_s.

    A level per period from the job's own priority, up to 10, so a stream of
    high-priority jobs cannot keep a low one waiting for ever. Safe to retry
    and to run concurrently: a job's level follows from its wait alone.
    """
    del timestamp
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    async with deps.pool.connection() as conn:
        raised = await age_priorities(conn, max_jobs=AGE_PRIORITIES_MAX_JOBS)
    if raised:
        logger.info(
            "Raised the priority of waiting jobs.",
            extra={"action": "priorities_aged", "jobs": raised},
        )
    return {"raised": raised}


@task_body("run-retention")
async def retention(
    context: JobContext, /, timestamp: int | None = None, **_: Any
) -> dict[str, int]:
    """Delete finished jobs, outcomes, keys, metrics and alerts past their retention.

    Bounded batches, each its own transaction. Safe to retry. Defers nothing.
    """
    del timestamp
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    async with deps.pool.connection() as conn:
        counts = await run_retention(conn)
    logger.info("Retention ran.", extra={"action": "retention_ran", **counts})
    return counts
