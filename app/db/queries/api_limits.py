"""Typed wrappers of `sql/queries/api_limits.sql`."""

from dataclasses import dataclass

from app.db import Connection
from app.db.queries import fetch_one, fetch_value


@dataclass(frozen=True)
class Lease:
    """Requests of a caller's window granted to one API process."""

    granted: int
    hits: int
    reset_in_s: int


async def lease_api_quota(
    conn: Connection, *, key: str, window_s: int, max_hits: int, chunk: int
) -> Lease:
    """Lease up to `chunk` requests of `key`'s current window."""
    params = {"key": key, "window_s": window_s, "max_hits": max_hits, "chunk": chunk}
    row = await fetch_one(conn, "lease_api_quota", params, Lease)
    if row is None:  # the function returns exactly one row
        raise RuntimeError("lease_api_quota returned no row")
    return row


async def api_forget_old_windows(conn: Connection) -> int:
    """Forget counters of windows that ended long ago; return how many."""
    return int(await fetch_value(conn, "api_forget_old_windows", {}))
