"""Queue policies, loaded from `queue.queues` and kept fresh in the background.

The retry strategy runs synchronously inside procrastinate, so it reads a cache
that a background task refreshes every few seconds: an edit of a queue's row
reaches every process within that interval, without a restart.
"""

import asyncio
import logging

from psycopg_pool import AsyncConnectionPool

from app.db.queries.queues import QueueRow, list_queues
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
    )


class PolicyCache:
    """Queue name → policy, refreshed from the database."""

    def __init__(self) -> None:
        self._policies: dict[str, QueuePolicy] = {}

    def get(self, queue: str) -> QueuePolicy:
        """Return the queue's policy (a one-attempt fallback for unknown queues)."""
        return self._policies.get(queue, FALLBACK)

    def all(self) -> list[QueuePolicy]:
        """Return every known policy."""
        return list(self._policies.values())

    async def refresh(self, pool: AsyncConnectionPool) -> None:
        """Reload every queue's row."""
        async with pool.connection() as conn:
            rows = await list_queues(conn)
        self._policies = {row.name: policy_from_row(row) for row in rows}

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
