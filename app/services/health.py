"""Health of the service: database, workers, queues.

Each probe has one deadline, from asking the pool for a connection to the last
answer: a database that is down, restarting or locked makes it unhealthy (503)
within the deadline, never a hang.
"""

import asyncio
from dataclasses import dataclass

from app.db import Connection, Pool
from app.db.queries import health as queries
from app.db.queries.queues import queue_overview

CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    """One component's health."""

    name: str
    healthy: bool
    detail: str


def _failed(exc: BaseException) -> Check:
    if isinstance(exc, TimeoutError):
        return Check("database", False, f"no answer within {CHECK_TIMEOUT_S:g} s")
    return Check("database", False, f"{type(exc).__name__}: {exc}"[:200])


async def ready(pool: Pool) -> Check:
    """Return whether the database answers within the deadline."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), pool.connection() as conn:
            ok = await queries.ping(conn)
    except Exception as exc:  # any failure of the probe is unhealthiness, reported
        return _failed(exc)
    return Check("database", ok, "answers" if ok else "did not answer")


async def health(pool: Pool, *, stalled_after_s: float) -> list[Check]:
    """Return the database, workers and queues checks."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S), pool.connection() as conn:
            return await _checks(conn, stalled_after_s=stalled_after_s)
    except (
        Exception
    ) as exc:  # the database failed the probe: say so, with the rest unknown
        return [
            _failed(exc),
            Check("workers", False, "unknown: no database"),
            Check("queues", False, "unknown: no database"),
        ]


async def _checks(conn: Connection, *, stalled_after_s: float) -> list[Check]:
    if not await queries.ping(conn):
        raise RuntimeError("the database did not answer the ping")
    workers = await queries.live_workers(conn, fresh_s=stalled_after_s)
    overview = await queue_overview(conn)
    paused = [row.queue for row in overview if row.paused]
    return [
        Check("database", True, "answers"),
        Check(
            "workers",
            workers > 0,
            f"{workers} worker(s) heartbeating"
            if workers
            else "no worker is heartbeating",
        ),
        Check(
            "queues",
            True,
            f"{len(overview)} queue(s)"
            + (f", paused: {', '.join(paused)}" if paused else ""),
        ),
    ]
