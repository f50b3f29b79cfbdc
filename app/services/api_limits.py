"""The API's per-caller rate limit, shared by every API process.

Each process leases a few requests of a caller's window from Postgres at a
time and spends them locally. Leases never add up to more than the limit, so
the limit holds across replicas; a lease a process does not use before its
window ends is lost, so a caller may get slightly fewer requests, never more.
"""

import time
from dataclasses import dataclass

from app.db import Connection, Pool
from app.db.queries import api_limits as queries

__all__ = ["QuotaCache", "Verdict", "forget_old"]

MAX_LEASE = 10


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go, and what the caller's window looks like."""

    allowed: bool
    remaining: int
    reset_in_s: int


@dataclass
class _Held:
    window_ends: float
    left: int
    hits: int


class QuotaCache:
    """One process's leases of callers' windows."""

    def __init__(self, pool: Pool, *, limit: int, window_s: int) -> None:
        self._pool = pool
        self._limit = limit
        self._window_s = window_s
        # Small limits lease one request at a time, so they stay exact.
        self._chunk = max(1, min(MAX_LEASE, limit // 100))
        self._held: dict[str, _Held] = {}

    async def take(self, key: str) -> Verdict:
        """Spend one request of `key`'s window, leasing more when none is held."""
        now = time.monotonic()
        held = self._held.get(key)
        if held is None or held.left <= 0 or held.window_ends <= now:
            async with self._pool.connection() as conn:
                lease = await queries.lease_api_quota(
                    conn,
                    key=key,
                    window_s=self._window_s,
                    max_hits=self._limit,
                    chunk=self._chunk,
                )
            held = _Held(
                window_ends=now + lease.reset_in_s, left=lease.granted, hits=lease.hits
            )
            self._held[key] = held
            if len(self._held) > 50_000:  # forget callers whose windows are over
                self._held = {
                    k: v for k, v in self._held.items() if v.window_ends > now
                }
        reset_in_s = max(1, int(held.window_ends - now + 0.999))
        if held.left <= 0:
            return Verdict(False, 0, reset_in_s)
        held.left -= 1
        return Verdict(True, self._limit - held.hits + held.left, reset_in_s)


async def forget_old(conn: Connection) -> int:
    """Forget counters of long-ended windows; return how many."""
    return await queries.api_forget_old_windows(conn)
