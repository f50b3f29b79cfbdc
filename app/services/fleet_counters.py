"""Every process's old counters, added up in the database (`app.observability.fleet`).

Each API and worker process runs `report_forever`: every `METRICS_REPORT_S`
it adds what its old counters rose by to `queue.fleet_counters` in one
statement, and once more when it stops. The API's old scrape path reads the
sums back (`monitoring.scrape_old_path`). A process that dies loses what it
counted since its last report, as a scrape of it would have.
"""

import asyncio
import logging

from app.db import Connection, Pool
from app.db.queries import fleet as queries
from app.observability.fleet import PROCESS_RISES, CounterRises, Series

logger = logging.getLogger(__name__)


async def report(pool: Pool, rises: CounterRises = PROCESS_RISES) -> None:
    """Add what this process's old counters rose by since its last report.

    Raises:
        the database's error; the rises are then handed back for the next report.
    """
    taken = rises.take()
    if not taken:
        return
    try:
        async with pool.connection() as conn:
            await queries.add_fleet_counts(
                conn,
                [queries.FleetCount(s.sample, dict(s.labels), s.value) for s in taken],
            )
    except BaseException:
        rises.give_back(taken)
        raise


async def report_forever(
    pool: Pool, *, every_s: float, rises: CounterRises = PROCESS_RISES
) -> None:
    """Report every `every_s` until cancelled, then once more.

    A report that fails (the database is down) is carried into the next one.
    """
    try:
        while True:
            await asyncio.sleep(every_s)
            try:
                await report(pool, rises)
            except Exception:
                logger.warning(
                    "Could not report the counters; they are carried into the next report.",
                    exc_info=True,
                    extra={"action": "counters_report_failed"},
                )
    finally:
        # Shielded: the stop that cancelled the loop must not drop the last counts.
        try:
            await asyncio.shield(report(pool, rises))
        except Exception:
            logger.warning(
                "Could not report the counters when stopping.",
                exc_info=True,
                extra={"action": "counters_report_failed"},
            )


async def fleet_sums(conn: Connection) -> list[Series]:
    """Return the fleet's sums of the old counters."""
    return [
        Series(row.sample, row.labels, row.value)
        for row in await queries.fleet_counts(conn)
    ]
