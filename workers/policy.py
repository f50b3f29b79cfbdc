"""Queue policies, loaded from `queue.queues` and kept fresh in the background.

The retry strategy runs synchronously inside procrastinate, so it reads a cache
that a background task refreshes every few seconds: an edit of a queue's row
(or of a job type's execution timeout) reaches every process within that
interval, without a restart.
"""

import asyncio
import logging

from psycopg_pool import AsyncConnectionPool

from app.db.queries.queues import QueueRow, list_job_type_timeouts, list_queues
from app.domain.policy import QueuePolicy

logger = logging.getLogger(__name__)

# For jobs of a queue that has no row (deferred outside queue.enqueue): one
# attempt, no retry.
FALLBACK = QueuePolicy(name="", max_attempts=1, backoff="fixed", backoff_base_s=10)


def policy_from_row(row: QueueRow) -> QueuePolicy:
    """Return the policy a queue's row describes."""
    return QueuePolicy(
        name=row.name,
        max_attempts=row.max_attempts,
        backoff="exponential" if row.backoff == "exponential" else "fixed",
        backoff_base_s=row.backoff_base_s,
        backoff_factor=row.backoff_factor,
        backoff_cap_s=row.backoff_cap_s,
        backoff_jitter=row.backoff_jitter,
        keep_results=row.keep_results,
        keep_succeeded=row.keep_succeeded,
        concurrency=row.concurrency,
        execution_timeout_s=row.execution_timeout_s,
    )


class PolicyCache:
    """Queue name → policy, refreshed from the database."""

    def __init__(self) -> None:
        self._policies: dict[str, QueuePolicy] = {}
        self._type_timeouts: dict[str, float] = {}

    def get(self, queue: str) -> QueuePolicy:
        """Return the queue's policy (a one-attempt fallback for unknown queues)."""
        return self._policies.get(queue, FALLBACK)

    def execution_timeout_s(self, queue: str, job_type: str) -> float:
        """How long an attempt of this type may run: the type's, else the queue's."""
        own = self._type_timeouts.get(job_type)
        return own if own is not None else self.get(queue).execution_timeout_s

    def all(self) -> list[QueuePolicy]:
        """Return every known policy."""
        return list(self._policies.values())

    async def refresh(self, pool: AsyncConnectionPool) -> None:
        """Reload every queue's row."""
        async with pool.connection() as conn:
            rows = await list_queues(conn)
            timeouts = await list_job_type_timeouts(conn)
        self._policies = {row.name: policy_from_row(row) for row in rows}
        self._type_timeouts = {t.name: t.execution_timeout_s for t in timeouts}

    async def keep_fresh(self, pool: AsyncConnectionPool, *, every_s: float) -> None:
        """Refresh forever; a failed refresh keeps the last policies and is retried."""
        while True:
            await asyncio.sleep(every_s)
            try:
                await self.refresh(pool)
            except Exception:
                logger.warning(
                    "Could not refresh queue policies.",
                    exc_info=True,
                    extra={"action": "policy_refresh_failed"},
                )
