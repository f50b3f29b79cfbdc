"""How an attempt settles: completed, requeued, or failed for good.

Success, a failure for good and an abort complete the job through the
process's completion writer (group commit), with the rows its task handed
over; a retry, a provider limit and a shutdown interruption requeue it at
once (`queue.requeue_job`), the last two without counting the attempt. A job
that ends for good with a callback URL enqueues its webhook first.

Nothing of a settled attempt is dropped: the requeue and the callback are
retried through database outages (the slot waits, so the lane takes no new
work meanwhile), and a requeue the database refuses fails the job with the
reason, so no job stays 'doing' under a live worker.
"""

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from procrastinate.jobs import Job, Status
from procrastinate.tasks import Task
from psycopg_pool import AsyncConnectionPool

from app.db.queries.tasks import AnalyticsEvent
from app.db.queries.worker import Completion, requeue_job
from app.domain.errors import JobDeferred
from app.observability import metrics
from workers.attempts import Attempt, job_id_of, refusal
from workers.callbacks import callback_url, enqueue_callback
from workers.completions import CompletionRows, CompletionWriter
from workers.outages import until_done
from workers.policy import PolicyCache

logger = logging.getLogger(__name__)


class Settler:
    """Settles the attempts of one lane."""

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        writer: CompletionWriter,
        rows: CompletionRows,
        policies: PolicyCache,
        lock_freed: Callable[[], None],
    ) -> None:
        self._pool = pool
        self._writer = writer
        self._rows = rows
        self._policies = policies
        # Called once a completion that frees a turn is written (a locked job's,
        # or one with a concurrency key): its lock's or key's next job can be
        # claimed then, not at the next poll.
        self._lock_freed = lock_freed

    async def settle(
        self,
        job: Job,
        task: Task[Any, Any, Any] | None,
        attempt: Attempt,
        error: BaseException | None,
    ) -> None:
        """Write how the attempt ended and what comes next for its job."""
        # Rows the body handed over are written only with a success.
        rows = self._rows.pop(job_id_of(job))
        ending = attempt.ending
        if ending in ("succeeded", "deduplicated"):
            await self._complete(job, Status.SUCCEEDED, attempt, rows)
        elif ending == "aborted":
            await self._complete(job, Status.ABORTED, attempt)
        elif ending == "interrupted":
            await self._requeue(job, attempt, retry_at=None, counted=False)
        elif isinstance(error, JobDeferred):
            # Turned away by an open breaker: no outcome row for that.
            await self._requeue(
                job,
                attempt,
                retry_at=error.until,
                counted=False,
                recorded=error.reason != "breaker_open",
            )
        else:
            retry = task.get_retry_exception(error, job) if task and error else None
            if retry is None:
                await self._complete(job, Status.FAILED, attempt)
                return
            decision = retry.retry_decision
            await self._requeue(
                job,
                attempt,
                retry_at=decision.retry_at,
                counted=True,
                priority=decision.priority,
                queue=decision.queue,
                lock=decision.lock,
            )
            metrics.JOB_RETRIES.labels(job.queue, job.task_name).inc()

    async def _complete(
        self,
        job: Job,
        status: Status,
        attempt: Attempt,
        analytics: tuple[AnalyticsEvent, ...] = (),
    ) -> None:
        if status in (Status.SUCCEEDED, Status.FAILED) and callback_url(job):
            # Before the completion: a job that dies in between is rescued and
            # finishes again, and its callback's key keeps it to one webhook.
            await until_done(
                self._pool,
                "callback",
                lambda: enqueue_callback(
                    self._pool,
                    job,
                    succeeded=status == Status.SUCCEEDED,
                    attempt=attempt,
                ),
            )
        self._writer.submit(
            Completion(
                job_id=job_id_of(job),
                status=status.value,
                error_type=attempt.error_type,
                error_message=attempt.error_message,
                # Dumped only where the queue keeps results (finish_jobs drops the rest).
                result=attempt.result
                if self._policies.get(job.queue).keep_results
                else None,
                started_at=attempt.started_at,
                finished_at=attempt.finished_at,
                worker_id=job.worker_id,
                analytics=analytics,
            ),
            after=self._lock_freed if frees_a_turn(job) else None,
        )
        if status == Status.FAILED:
            metrics.FAILED_JOBS.labels(job.queue).inc()
            logger.error(
                "Job failed for good.",
                extra={
                    "action": "job_failed",
                    "job_id": job.id,
                    "queue": job.queue,
                    "job_type": job.task_name,
                    "attempts": job.attempts + 1,
                    "error_type": attempt.error_type,
                    "error": attempt.error_message,
                },
            )

    async def _requeue(
        self,
        job: Job,
        attempt: Attempt,
        *,
        retry_at: datetime | None,
        counted: bool,
        recorded: bool = True,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        async def write() -> None:
            async with self._pool.connection() as conn:
                await requeue_job(
                    conn,
                    job_id=job_id_of(job),
                    retry_at=retry_at or datetime.now(UTC),
                    count_attempt=counted,
                    outcome=None
                    if not recorded
                    else "retried"
                    if counted
                    else attempt.ending,
                    error_type=attempt.error_type,
                    error_message=attempt.error_message,
                    started_at=attempt.started_at,
                    finished_at=attempt.finished_at,
                    priority=priority,
                    queue_name=queue,
                    lock=lock,
                    claimed_by=job.worker_id,
                )

        try:
            await until_done(self._pool, "requeue", write)
        except Exception as exc:
            logger.error(
                "A job's requeue was refused; failing the job with the reason.",
                exc_info=True,
                extra={"action": "requeue_refused", "job_id": job.id},
            )
            refused = dataclasses.replace(
                attempt,
                ending="failed",
                error_type="RequeueRefused",
                error_message=refusal("requeue", attempt.ending, exc),
            )
            await self._complete(job, Status.FAILED, refused)


def not_found(job: Job) -> Attempt:
    """Return the attempt of a job whose task this worker does not have."""
    now = datetime.now(UTC)
    return Attempt(
        started_at=now,
        finished_at=now,
        ending="failed",
        error_type="TaskNotFound",
        error_message=f'this worker has no task "{job.task_name}"',
    )


def frees_a_turn(job: Job) -> bool:
    """Return whether a job's end lets another job of its lock or concurrency key go."""
    if job.lock is not None:
        return True
    meta = job.task_kwargs.get("meta")
    return isinstance(meta, dict) and meta.get("concurrency_key") is not None
