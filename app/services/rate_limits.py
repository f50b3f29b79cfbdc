"""Provider rate-limit buckets as the API and the console report and steer them.

The buckets live in `queue.rate_limits`, shared by every process; `check` says
truthfully whether a call could go now, without taking a token. The circuit
breakers (`queue.circuit_breakers`) are listed beside them, read-only: only
calls' outcomes move a breaker.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from app.db import Connection
from app.db.queries import rate_limits as queries
from app.db.queries.rate_limits import (
    AdmissionRow,
    BreakerStatusRow,
    BucketRow,
    RateLimitRow,
)
from app.domain.errors import UnknownRateLimit
from app.services.audit import AuditContext, record

__all__ = ["BreakerStatusRow", "BucketRow", "RateLimitRow"]


@dataclass(frozen=True)
class Verdict:
    """Whether a call to a provider could go now, and if not why and for how long."""

    allowed: bool
    reason: str | None
    wait_ms: int


async def status(conn: Connection, name: str) -> RateLimitRow:
    """Return the bucket as of now.

    Raises:
        UnknownRateLimit: no bucket has this name.
    """
    row = await queries.get_rate_limit(conn, name=name)
    if row is None:
        raise UnknownRateLimit(f'unknown rate limit "{name}"', key=name)
    return row


def _verdict(checks: Sequence[AdmissionRow]) -> Verdict:
    # The decision is the gate's own (queue.admission); this only words it.
    blocking = next((check for check in checks if check.verdict != "go"), None)
    if blocking is None:
        return Verdict(True, None, 0)
    name = blocking.subject
    reasons = {
        "breaker_open": f"the {name} circuit breaker is "
        f"{(blocking.breaker_state or 'open').replace('_', '-')}",
        "stopped": f"{name} is stopped (emergency stop)",
        "held": f"{name} is held by the provider's Retry-After",
        "concurrency": f"{name} has {blocking.in_flight} calls in flight "
        f"(max {blocking.max_concurrent})",
        "tokens": f"{name} has no token",
    }
    wait_ms = int(blocking.wait_s * 1000) + 1 if blocking.wait_s > 0 else 0
    return Verdict(False, reasons.get(blocking.verdict, blocking.verdict), wait_ms)


async def buckets(conn: Connection) -> list[BucketRow]:
    """Return every bucket as of now, with its adaptive rate and hold."""
    return await queries.list_rate_limits(conn)


@dataclass(frozen=True)
class Breakers:
    """Circuit breakers as of now, those not closed first, and whether more exist."""

    breakers: list[BreakerStatusRow]
    more: bool


async def breakers(conn: Connection, *, limit: int) -> Breakers:
    """Return up to `limit` circuit breakers (webhooks have one per host)."""
    rows = await queries.list_breaker_status(conn, limit=limit + 1)
    return Breakers(breakers=rows[:limit], more=len(rows) > limit)


async def check(conn: Connection, name: str) -> tuple[RateLimitRow, Verdict]:
    """Return the bucket and whether a call could go now (its group's bucket too).

    Raises:
        UnknownRateLimit: no bucket has this name.
    """
    row = await status(conn, name)
    return row, _verdict(await queries.check_rate_limit(conn, name=name))


async def reset(conn: Connection, name: str, *, audit: AuditContext) -> RateLimitRow:
    """Refill the bucket and lift its Retry-After hold.

    Raises:
        UnknownRateLimit: no bucket has this name.
    """
    async with conn.transaction():
        if not await queries.reset_rate_limit(conn, name=name):
            raise UnknownRateLimit(f'unknown rate limit "{name}"', key=name)
        await record(conn, audit, "rate_limit.reset", f"rate_limit:{name}")
    return await status(conn, name)


async def set_stopped(
    conn: Connection,
    *,
    stopped: bool,
    names: Sequence[str] | None,
    reason: str | None,
    audit: AuditContext,
) -> list[str]:
    """Emergency-stop (or resume) the named buckets, or all; return those changed.

    Raises:
        UnknownRateLimit: a named bucket does not exist (nothing changes).
    """
    async with conn.transaction():
        changed = await queries.set_rate_limits_paused(
            conn, paused=stopped, names=names
        )
        missing = sorted(set(names or ()) - set(changed))
        if missing:
            raise UnknownRateLimit(
                f"unknown rate limit(s): {', '.join(missing)}", keys=missing
            )
        action = "rate_limit.emergency_stop" if stopped else "rate_limit.resume"
        await record(
            conn,
            audit,
            action,
            "rate_limit:" + (",".join(sorted(changed)) if names else "*"),
            reason=reason,
        )
    return sorted(changed)
