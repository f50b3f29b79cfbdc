"""Typed wrappers of `sql/queries/console.sql`: the console's charts."""

from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import fetch_all


@dataclass(frozen=True)
class DepthPoint:
    """One snapshot of a queue: jobs waiting and running."""

    queue: str
    at: datetime
    waiting: int
    running: int


@dataclass(frozen=True)
class ThroughputPoint:
    """Attempts of a queue that ended in one period (a minute or an hour)."""

    queue: str
    at: datetime
    completed: int
    failed: int


async def depth_since(conn: Connection, *, since: datetime) -> list[DepthPoint]:
    """Return every snapshot since `since`, oldest first."""
    return await fetch_all(conn, "depth_since", {"since": since}, DepthPoint)


async def throughput_per_hour(
    conn: Connection, *, since: datetime
) -> list[ThroughputPoint]:
    """Return the attempts that ended per queue and hour since `since`."""
    return await fetch_all(
        conn, "throughput_per_hour", {"since": since}, ThroughputPoint
    )
