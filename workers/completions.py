"""Group commit of finished attempts: one `queue.finish_jobs` per batch.

A slot hands its job's completion over and takes the next job at once; the
completions that arrive while a write is in flight go together in the next
statement. No timer: an idle process writes each completion as it comes, a
busy one writes hundreds a statement.

A completion that is not written leaves its job 'doing' under a live worker,
where no rescue looks for it, so the writer insists through outages. Once the
process stops, its worker rows are deleted and any job still 'doing' is the
rescue's: a last write that cannot be made loses no job.
"""

import asyncio
import logging
from collections.abc import Callable

import psycopg
from psycopg_pool import AsyncConnectionPool

from app.db.queries.worker import Completion, finish_jobs
from app.observability import metrics

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
_RETRY_CAP_S = 5.0
_TRIES_WHEN_CLOSING = 5


class CompletionWriter:
    """Writes the completions of one process, batched by what is pending."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool
        self._pending: list[tuple[Completion, Callable[[], None] | None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def pending(self) -> int:
        """Return how many completions wait for their write."""
        return len(self._pending)

    def submit(
        self, completion: Completion, *, after: Callable[[], None] | None = None
    ) -> None:
        """Queue a completion for the next write; call `after` once it is written."""
        self._pending.append((completion, after))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="complete jobs")

    async def close(self) -> None:
        """Write what is pending (a few tries at most), then return."""
        self._closing = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            await self._write([completion for completion, _ in batch])
            for _, after in batch:
                if after is not None:
                    after()

    async def _write(self, batch: list[Completion]) -> None:
        delay = 0.1
        tries = 0
        while True:
            tries += 1
            try:
                async with self._pool.connection() as conn:
                    await finish_jobs(conn, completions=batch)
            except psycopg.OperationalError:
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
                delay = min(delay * 2, _RETRY_CAP_S)
            except Exception:
                # Not an outage: one completion the statement refuses. Write the
                # others one by one so it takes nobody else down with it.
                if len(batch) == 1:
                    logger.exception(
                        "Could not complete a job; the rescue returns it when this worker stops.",
                        extra={
                            "action": "completion_refused",
                            "job_id": batch[0].job_id,
                        },
                    )
                    return
                for completion in batch:
                    await self._write([completion])
                return
            else:
                metrics.COMPLETION_BATCH.observe(len(batch))
                return
