"""The counters behind the API's per-caller rate limit.

Every API process counts in the same rows, with one atomic statement per
request, so a caller's limit holds across replicas.
"""

from app.db import Connection
from app.db.queries import api_limits as queries
from app.db.queries.api_limits import WindowHits

__all__ = ["WindowHits", "forget_old", "hit"]


async def hit(conn: Connection, key: str, *, window_s: int) -> WindowHits:
    """Count a request of `key` in the current window."""
    return await queries.api_hit(conn, key=key, window_s=window_s)


async def forget_old(conn: Connection) -> int:
    """Forget counters of long-ended windows; return how many."""
    return await queries.api_forget_old_windows(conn)
