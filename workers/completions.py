"""Group commit of started and finished attempts: one statement per batch of each.

A slot hands its job's completion over and takes the next job at once; the
completions that arrive while a write is in flight go together in the next
statement. No timer: an idle process writes each completion as it comes, a
busy one writes hundreds a statement.

Start marks (`queue.mark_jobs_started`) go the same way, before the
completions of their round; a job that starts and finishes within one round
needs none. They tell the rescue a started attempt (counted) from a claimed,
unstarted one (returned uncounted). They are best effort: a mark that cannot
be written costs only the count of that attempt, should its worker die.

A task may hand rows to be written with its job's completion
(`CompletionRows`): they go in the same transaction, in one INSERT per batch,
so they are recorded exactly when the job is, and cost no commit of their own.

A completion that is not written leaves its job 'doing' under a live worker,
where no rescue looks for it, so the writer insists through outages, in
order, for as long as the process runs (`queue.finish_jobs` touches only jobs
still running for their worker, so a write repeated after a lost answer
changes nothing). While it insists, `failing` is true and the lanes claim
nothing: what waits for a write is bounded by the jobs already claimed. Once
the process stops, its worker rows are deleted and any job still 'doing' is
the rescue's: a last write that cannot be made loses no job.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.db.pool import check_in_background
from app.db.queries.tasks import AnalyticsEvent, insert_analytics_events
from app.db.queries.worker import Completion, finish_jobs, mark_jobs_started
from app.observability import metrics
from workers.attempts import refusal
from workers.outages import RETRY_CAP_S, RETRY_FIRST_S, is_outage

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
_TRIES_WHEN_CLOSING = 5
_REFUSED = "CompletionRefused"


class CompletionRows:
    """Rows the running jobs of a process asked to be written with their completion."""

    def __init__(self) -> None:
        self._analytics: dict[int, AnalyticsEvent] = {}

    def add_analytics(self, event: AnalyticsEvent) -> None:
        """Write this event when its job completes (a later one replaces it)."""
        self._analytics[event.job_id] = event

    def pop(self, job_id: int) -> tuple[AnalyticsEvent, ...]:
        """Return and forget the rows of the job's attempt."""
        event = self._analytics.pop(job_id, None)
        return () if event is None else (event,)


class CompletionWriter:
    """Writes the completions of one process, batched by what is pending."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._pending: list[tuple[Completion, Callable[[], None] | None]] = []
        self._starts: dict[int, list[int]] = {}  # worker id → started job ids
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self.failing = False  # a write is being retried through an outage

    @property
    def pending(self) -> int:
        """Return how many completions wait for their write."""
        return len(self._pending)

    def submit(
        self, completion: Completion, *, after: Callable[[], None] | None = None
    ) -> None:
        """Queue a completion for the next write; call `after` once it is written."""
        self._pending.append((completion, after))
        self._kick()

    def started(self, worker_id: int, job_id: int) -> None:
        """Mark the job as started by `worker_id` in the next write."""
        self._starts.setdefault(worker_id, []).append(job_id)
        self._kick()

    def _kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="complete jobs")

    async def close(self) -> None:
        """Write what is pending (a few tries at most), then return."""
        self._closing = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        while self._pending or self._starts:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            starts, self._starts = self._starts, {}
            finished = {completion.job_id for completion, _ in batch}
            for worker_id, job_ids in starts.items():
                running = [job_id for job_id in job_ids if job_id not in finished]
                if running:
                    await self._mark_started(worker_id, running)
            if not batch:
                continue
            await self._write([completion for completion, _ in batch])
            for _, after in batch:
                if after is not None:
                    after()

    async def _mark_started(self, worker_id: int, job_ids: list[int]) -> None:
        try:
            async with self._pool.connection() as conn:
                await mark_jobs_started(conn, job_ids=job_ids, worker_id=worker_id)
        except Exception:
            logger.warning(
                "Could not mark jobs as started.",
                exc_info=True,
                extra={"action": "start_mark_failed", "count": len(job_ids)},
            )

    async def _write(self, batch: list[Completion]) -> None:
        delay = RETRY_FIRST_S
        tries = 0
        while True:
            tries += 1
            try:
                async with self._pool.connection() as conn:
                    await _write_batch(conn, batch)
            except Exception as exc:
                if not is_outage(exc):
                    await self._write_refused(batch, exc)
                    return
                self.failing = True
                check_in_background(self._pool)
                if self._closing and tries >= _TRIES_WHEN_CLOSING:
                    logger.error(
                        "Could not complete jobs before stopping; the rescue returns them.",
                        exc_info=True,
                        extra={"action": "completion_lost", "count": len(batch)},
                    )
                    return
                logger.warning(
                    "Could not complete jobs; retrying.",
                    exc_info=True,
                    extra={"action": "completion_retry", "count": len(batch)},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_CAP_S)
            else:
                self.failing = False
                metrics.COMPLETION_BATCH.observe(len(batch))
                return

    async def _write_refused(self, batch: list[Completion], exc: Exception) -> None:
        # Not an outage: one completion the statement refuses (a result JSON
        # cannot hold, say). Write the others one by one so it takes nobody
        # else down with it; the refused one fails its job with the reason,
        # rather than leave it 'doing' under this live worker.
        if len(batch) > 1:
            for completion in batch:
                await self._write([completion])
            return
        (refused,) = batch
        logger.error(
            "A job's completion was refused; failing the job with the reason.",
            exc_info=exc,
            extra={"action": "completion_refused", "job_id": refused.job_id},
        )
        if refused.error_type == _REFUSED:
            return  # even the plain failure was refused: the rescue has it at stop
        await self._write(
            [
                dataclasses.replace(
                    refused,
                    status="failed",
                    error_type=_REFUSED,
                    error_message=refusal("completion", refused.status, exc),
                    result=None,
                    analytics=(),
                )
            ]
        )


async def _write_batch(
    conn: psycopg.AsyncConnection[Any], batch: list[Completion]
) -> None:
    analytics = [event for completion in batch for event in completion.analytics]
    if not analytics:
        await finish_jobs(conn, completions=batch)
        return
    async with conn.transaction():
        await insert_analytics_events(conn, events=analytics)
        await finish_jobs(conn, completions=batch)
