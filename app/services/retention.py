"""Retention: delete what the queues' policies let go, in bounded batches."""

from collections import Counter

from app.db import Connection
from app.db.queries import jobs as queries
from app.db.queries import metrics as metric_queries
from app.db.queries import providers as provider_queries
from app.services import api_limits

TABLES = (
    "procrastinate_jobs",
    "procrastinate_events",
    "job_outcomes",
    "idempotency_keys",
    "queue_metrics",
    "alert_history",
    "api_rate_limit_windows",
    "side_effects",
    "rollups",
)


async def run_retention(
    conn: Connection, *, batch_size: int = 10_000, max_batches: int = 1_000
) -> dict[str, int]:
    """Call `queue.run_retention` until a batch leaves nothing behind.

    Each batch is its own short transaction (the connection is in autocommit),
    so retention never holds locks on the hot table for long.

    Returns:
        Rows deleted per table, over all batches.
    """
    totals: Counter[str] = Counter(dict.fromkeys(TABLES, 0))
    for _ in range(max_batches):
        counts = await queries.run_retention(conn, batch_size=batch_size)
        totals.update({count.table_name: count.deleted for count in counts})
        if all(count.deleted < batch_size for count in counts):
            break
    totals["api_rate_limit_windows"] += await api_limits.forget_old(conn)
    totals["rollups"] += await metric_queries.forget_rollups(conn)
    for _ in range(max_batches):
        deleted = await provider_queries.forget_side_effects(
            conn, batch_size=batch_size
        )
        totals["side_effects"] += deleted
        if deleted < batch_size:
            break
    return dict(totals)
