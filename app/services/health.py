"""Health of the service: database, workers, queues."""

import asyncio
from dataclasses import dataclass

from app.db import Connection
from app.db.queries import health as queries
from app.db.queries.queues import queue_overview

CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Check:
    """One component's health."""

    name: str
    healthy: bool
    detail: str


async def ready(conn: Connection) -> Check:
    """Return whether the database answers within the timeout."""
    try:
        ok = await asyncio.wait_for(queries.ping(conn), CHECK_TIMEOUT_S)
    except Exception as exc:  # any failure of the probe is unhealthiness, reported
        return Check("database", False, f"{type(exc).__name__}: {exc}"[:200])
    return Check("database", ok, "answers" if ok else "did not answer")


async def health(conn: Connection, *, stalled_after_s: float) -> list[Check]:
    """Return the database, workers and queues checks."""
    database = await ready(conn)
    if not database.healthy:
        return [
            database,
            Check("workers", False, "unknown: no database"),
            Check("queues", False, "unknown: no database"),
        ]
    workers = await queries.live_workers(conn, fresh_s=stalled_after_s)
    overview = await queue_overview(conn)
    paused = [row.queue for row in overview if row.paused]
    return [
        database,
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
