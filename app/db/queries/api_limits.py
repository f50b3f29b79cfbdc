"""Typed wrappers of `sql/queries/api_limits.sql`."""

from dataclasses import dataclass

from app.db import Connection
from app.db.queries import fetch_one, fetch_value


@dataclass(frozen=True)
class WindowHits:
    """A caller's requests in the current window, and when the window ends."""

    hits: int
    reset_in_s: int


async def api_hit(conn: Connection, *, key: str, window_s: int) -> WindowHits:
    """Count a request of `key`; return the window's hits and its remaining seconds."""
    row = await fetch_one(
        conn, "api_hit", {"key": key, "window_s": window_s}, WindowHits
    )
    if row is None:  # INSERT ... RETURNING returns its row
        raise RuntimeError("api_hit returned no row")
    return row


async def api_forget_old_windows(conn: Connection) -> int:
    """Forget counters of windows that ended long ago; return how many."""
    return int(await fetch_value(conn, "api_forget_old_windows", {}))
