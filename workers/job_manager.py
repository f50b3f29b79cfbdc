"""procrastinate's JobManager, claiming and completing jobs in batches.

procrastinate fetches one job per statement and finishes one per statement. On
a small machine those round trips, not the work, bound throughput. Here:

- a fetch claims as many jobs as the worker has free slots, in one statement
  (`queue.fetch_jobs`), and hands them out one by one: a claimed job never waits
  for a slot, so no job sits claimed while another worker could run it;
- completions that arrive while a write is in flight are written together in
  the next statement (`queue.finish_jobs`: state, attempt count and outcome row
  for each job): group commit, with no timer and no added latency when idle.

Retries go through `queue.requeue_job` one by one; they are rare, and each
carries its own schedule.
"""

import asyncio
import logging
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

import psycopg
from procrastinate import jobs as procrastinate_jobs
from procrastinate.manager import JobManager
from psycopg_pool import AsyncConnectionPool

from app.db.queries.worker import (
    ClaimedJob,
    Completion,
    fetch_jobs,
    finish_jobs,
    register_worker_queue,
    release_jobs,
    requeue_job,
)
from app.observability import metrics
from workers.attempts import Attempt, AttemptLog, job_id_of
from workers.callbacks import callback_url, enqueue_callback

logger = logging.getLogger(__name__)

_WRITE_TRIES = 5
_FINAL = (procrastinate_jobs.Status.SUCCEEDED, procrastinate_jobs.Status.FAILED)


class BatchingJobManager(JobManager):
    """Claims jobs in batches and completes them by group commit."""

    def __init__(
        self,
        connector: Any,
        *,
        pool: AsyncConnectionPool,
        concurrency: Mapping[str, int],
        attempts: AttemptLog,
    ) -> None:
        super().__init__(connector)
        self._pool = pool
        self._concurrency = dict(concurrency)
        self._attempts = attempts
        self._buffers: defaultdict[int, deque[procrastinate_jobs.Job]] = defaultdict(
            deque
        )
        # worker id → jobs claimed and not yet completed (buffered or running)
        self._claimed: Counter[int] = Counter()
        self._owner: dict[int, int] = {}  # job id → worker id
        self._pending: list[tuple[Completion, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._registered: set[int] = set()
        self.closing = False

    async def fetch_job(
        self, queues: Iterable[str] | None, worker_id: int
    ) -> procrastinate_jobs.Job | None:
        """Hand out the next claimed job, claiming a batch when none is left."""
        buffer = self._buffers[worker_id]
        if not buffer and not self.closing:
            (queue,) = list(queues or [])  # one procrastinate worker per queue
            # The caller holds one free slot; the others are free too unless
            # claimed. The worker's own concurrency, fixed when it started, not
            # the live policy: a claimed job must never wait for a slot.
            free = max(1, self._concurrency[queue] - self._claimed[worker_id])
            async with self._pool.connection() as conn:
                if worker_id not in self._registered:
                    # Says which queue this worker serves: the monitor and
                    # queue.explain_job tell "no worker listens" from it.
                    await register_worker_queue(
                        conn, worker_id=worker_id, queue_name=queue
                    )
                    self._registered.add(worker_id)
                rows = await fetch_jobs(
                    conn, queue_name=queue, worker_id=worker_id, max_jobs=free
                )
            if self._is_closing() and rows:
                await self._release([row.id for row in rows])
                return None
            for row in sorted(rows, key=lambda r: (-r.priority, r.id)):
                buffer.append(procrastinate_jobs.Job.from_row(_shallow_dict(row)))
                self._owner[row.id] = worker_id
            self._claimed[worker_id] += len(rows)
            if rows:
                metrics.JOBS_CLAIMED.labels(queue).inc(len(rows))
        return buffer.popleft() if buffer else None

    async def finish_job(
        self,
        job: procrastinate_jobs.Job,
        status: procrastinate_jobs.Status,
        delete_job: bool,
    ) -> None:
        """Complete the job's attempt; the queue's policy decides deletion, not `delete_job`."""
        del delete_job
        job_id = job_id_of(job)
        attempt = self._attempts.pop(job_id) or _unseen_attempt(job)
        completion = Completion(
            job_id=job_id,
            status=status.value,
            error_type=attempt.error_type,
            error_message=attempt.error_message,
            result=attempt.result,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            worker_id=job.worker_id,
        )
        if status in _FINAL and callback_url(job) is not None:
            # Before the completion: a job that dies in between is rescued and
            # finishes again, and its callback's key keeps it to one webhook.
            await enqueue_callback(
                self._pool,
                job,
                succeeded=status == procrastinate_jobs.Status.SUCCEEDED,
                attempt=attempt,
            )
        try:
            await self._complete(completion)
        finally:
            self._forget(job_id)
        if status == procrastinate_jobs.Status.FAILED:
            metrics.FAILED_JOBS.labels(job.queue).inc()
            logger.error(
                "Job failed for good.",
                extra={
                    "action": "job_failed",
                    "job_id": job_id,
                    "queue": job.queue,
                    "job_type": job.task_name,
                    "attempts": job.attempts + 1,
                    "error_type": attempt.error_type,
                    "error": attempt.error_message,
                },
            )

    async def retry_job(
        self,
        job: procrastinate_jobs.Job,
        retry_at: datetime | None = None,
        priority: int | None = None,
        queue: str | None = None,
        lock: str | None = None,
    ) -> None:
        """Put the job back in its queue.

        An attempt interrupted by shutdown or deferred by a provider limit is
        not counted.
        """
        job_id = job_id_of(job)
        attempt = self._attempts.pop(job_id) or _unseen_attempt(job)
        not_counted = attempt.ending in ("interrupted", "rate_limited")
        try:
            async with self._pool.connection() as conn:
                await requeue_job(
                    conn,
                    job_id=job_id,
                    retry_at=retry_at,
                    count_attempt=not not_counted,
                    outcome=attempt.ending if not_counted else "retried",
                    error_type=attempt.error_type,
                    error_message=attempt.error_message,
                    started_at=attempt.started_at,
                    finished_at=attempt.finished_at,
                    priority=priority,
                    queue_name=queue,
                    lock=lock,
                    claimed_by=job.worker_id,
                )
        except Exception:
            # procrastinate swallows errors of jobs it aborts at shutdown: say it here.
            logger.exception(
                "Could not requeue a job.",
                extra={"action": "requeue_failed", "job_id": job_id},
            )
            raise
        finally:
            self._forget(job_id)
        if not not_counted:
            metrics.JOB_RETRIES.labels(job.queue, job.task_name).inc()

    async def close(self) -> None:
        """Stop claiming and return every claimed job that has not started."""
        self.closing = True
        unstarted = [
            job.id
            for buffer in self._buffers.values()
            for job in buffer
            if job.id is not None
        ]
        for buffer in self._buffers.values():
            buffer.clear()
        if unstarted:
            await self._release(unstarted)
            for job_id in unstarted:
                self._forget(job_id)
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    def _is_closing(self) -> bool:
        # A method, not the attribute: close() may run while a fetch awaits.
        return self.closing

    async def _release(self, job_ids: list[int]) -> None:
        async with self._pool.connection() as conn:
            await release_jobs(conn, job_ids=job_ids)
        logger.info(
            "Released unstarted jobs.",
            extra={"action": "jobs_released", "count": len(job_ids)},
        )

    def _forget(self, job_id: int) -> None:
        worker_id = self._owner.pop(job_id, None)
        if worker_id is not None:
            self._claimed[worker_id] -= 1

    async def _complete(self, completion: Completion) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((completion, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="complete jobs")
        await future

    async def _flush(self) -> None:
        # Runs while completions keep arriving; each round writes all that
        # arrived during the previous round.
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._write([completion for completion, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    future.set_exception(exc)
            else:
                for _, future in batch:
                    future.set_result(None)

    async def _write(self, completions: list[Completion]) -> None:
        # A job whose completion is lost stays 'doing' under a live worker, where
        # no rescue looks for it: insist through short outages.
        for attempt in range(1, _WRITE_TRIES + 1):
            try:
                async with self._pool.connection() as conn:
                    await finish_jobs(conn, completions=completions)
                metrics.COMPLETION_BATCH.observe(len(completions))
                return
            except psycopg.OperationalError:
                if attempt == _WRITE_TRIES:
                    raise
                logger.warning(
                    "Could not complete jobs; retrying.",
                    exc_info=True,
                    extra={"action": "completion_retry", "count": len(completions)},
                )
                await asyncio.sleep(0.2 * 2**attempt)


def _shallow_dict(row: ClaimedJob) -> dict[str, Any]:
    # dataclasses.asdict deep-copies the job's arguments: a tenth of a
    # millisecond per job for nothing, since the row is not kept.
    return {field.name: getattr(row, field.name) for field in fields(row)}


def _unseen_attempt(job: procrastinate_jobs.Job) -> Attempt:
    # The middleware never saw the job run: procrastinate failed it before its
    # task started (no task of that name in this worker).
    now = datetime.now(UTC)
    return Attempt(
        started_at=now,
        finished_at=now,
        ending="failed",
        error_type="TaskNotFound",
        error_message=f'this worker has no task "{job.task_name}"',
    )
