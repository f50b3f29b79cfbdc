"""Typed wrappers of `sql/queries/health.sql`."""

from app.db import Connection
from app.db.queries import fetch_value


async def ping(conn: Connection) -> bool:
    """Return True when the database answers."""
    return bool(await fetch_value(conn, "ping", {}) == 1)


async def live_workers(conn: Connection, *, fresh_s: float) -> int:
    """Return how many workers heartbeated within `fresh_s` seconds."""
    return int(await fetch_value(conn, "live_workers", {"fresh_s": fresh_s}))
