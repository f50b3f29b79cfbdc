"""Enqueue the single jobs of concurrent requests together: group commit.

Each `POST /jobs` enqueues one job, and on its own each pays a round trip and a
commit (a WAL flush). Under load, the jobs of requests that arrive while a
write is in flight are written together in the next `queue.enqueue_many` call,
in one transaction: the same SQL path, validation and idempotency keys, a
fraction of the commits. When idle, a job is written at once: no timer, no
added latency.

A batch is all or nothing in SQL, so when the database refuses one job of a
batch (any error but an outage), the batch is written again job by job and
only that job's request gets the error. Every caller hears back only after its job's transaction committed.
"""

import asyncio
import contextvars
import logging
from collections.abc import Sequence
from dataclasses import replace

from app.db import Pool
from app.db.errors import DATABASE_UNAVAILABLE
from app.db.queries import enqueue as queries
from app.observability import tracing
from app.services.enqueue import Enqueued, JobRequest, count_enqueued

logger = logging.getLogger(__name__)

__all__ = ["GroupEnqueuer"]

MAX_BATCH = 100
# Writes in flight at once: enough to overlap one batch's commit with the next
# batch's round trip, few enough that batches form under load.
MAX_IN_FLIGHT = 2


class GroupEnqueuer:
    """One process's writer of single enqueues, batching concurrent ones."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self._pending: list[tuple[JobRequest, asyncio.Future[Enqueued]]] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def enqueue(self, job: JobRequest) -> Enqueued:
        """Enqueue `job` in its own or a shared transaction; return once committed.

        Raises:
            EnqueueRejected: the database refused this job.
        """
        # The request's own enqueue span: the write is shared, the trace is not.
        with tracing.producer_span(
            "enqueue",
            {
                "messaging.destination.name": job.queue,
                "queue_service.job_type": job.job_type,
            },
        ) as trace_context:
            if trace_context:
                job = replace(job, meta=tracing.with_trace(job.meta, trace_context))
            future: asyncio.Future[Enqueued] = (
                asyncio.get_running_loop().create_future()
            )
            self._pending.append((job, future))
            if len(self._writers) < MAX_IN_FLIGHT:
                # In a context of its own: it writes other requests' jobs too.
                writer = asyncio.create_task(
                    self._write_pending(),
                    name="enqueue jobs",
                    context=contextvars.Context(),
                )
                self._writers.add(writer)
                writer.add_done_callback(self._writers.discard)
            return await future

    async def _write_pending(self) -> None:
        # Each round writes what arrived while the previous round was in flight.
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                results = await self._write([job for job, _ in batch])
            except DATABASE_UNAVAILABLE as exc:
                # The database cannot serve: every caller hears it now,
                # including those that queued behind this batch, whose own
                # round would only wait out the same timeout again.
                batch.extend(self._pending)
                self._pending.clear()
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
            except Exception as exc:
                # One job's error (refused, or a value the database cannot
                # hold): only its own request may hear it.
                if len(batch) == 1:
                    batch[0][1].set_exception(exc)
                else:
                    await self._write_one_by_one(batch)
            else:
                count_enqueued(
                    [job for job, _ in batch], [result.duplicate for result in results]
                )
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)

    async def _write(self, jobs: Sequence[JobRequest]) -> list[Enqueued]:
        async with self.pool.connection() as conn:
            if len(jobs) == 1:
                row = await queries.enqueue(conn, **jobs[0].as_args())
                return [Enqueued(job_id=row.job_id, duplicate=row.duplicate)]
            rows = await queries.enqueue_many(
                conn, jobs=[job.as_json() for job in jobs]
            )
        return [Enqueued(job_id=row.job_id, duplicate=row.duplicate) for row in rows]

    async def _write_one_by_one(
        self, batch: list[tuple[JobRequest, asyncio.Future[Enqueued]]]
    ) -> None:
        for job, future in batch:
            try:
                (result,) = await self._write([job])
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                count_enqueued([job], [result.duplicate])
                if not future.done():
                    future.set_result(result)
