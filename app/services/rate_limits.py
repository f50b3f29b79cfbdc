"""Provider rate-limit buckets as the API reports and steers them.

The buckets live in `queue.rate_limits`, shared by every process; `check` says
truthfully whether a call could go now, without taking a token.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from app.db import Connection
from app.db.queries import rate_limits as queries
from app.db.queries.rate_limits import RateLimitRow
from app.domain.errors import UnknownRateLimit
from app.services.audit import AuditContext, record

__all__ = ["RateLimitRow"]


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


def _verdict(row: RateLimitRow, now: datetime) -> Verdict:
    provider = row.group_name or row.name
    if (
        row.breaker_state in ("open", "half_open")
        and row.breaker_retry_at is not None
        and row.breaker_retry_at > now
    ):
        return Verdict(
            False,
            f"the {provider} circuit breaker is {row.breaker_state.replace('_', '-')}",
            int((row.breaker_retry_at - now).total_seconds() * 1000) + 1,
        )
    if row.paused:
        return Verdict(False, f"{row.name} is stopped (emergency stop)", 0)
    if row.hold_until is not None and row.hold_until > now:
        return Verdict(
            False,
            f"{row.name} is held by the provider's Retry-After",
            int((row.hold_until - now).total_seconds() * 1000) + 1,
        )
    if row.max_concurrent is not None and row.active_leases >= row.max_concurrent:
        return Verdict(
            False,
            f"{row.name} has {row.active_leases} calls in flight (max {row.max_concurrent})",
            0,
        )
    if row.tokens < 1:
        return Verdict(
            False,
            f"{row.name} has no token",
            int((1 - row.tokens) / row.rate_per_s * 1000) + 1,
        )
    return Verdict(True, None, 0)


async def check(conn: Connection, name: str) -> tuple[RateLimitRow, Verdict]:
    """Return the bucket and whether a call could go now (its group's bucket too).

    Raises:
        UnknownRateLimit: no bucket has this name.
    """
    row = await status(conn, name)
    now = datetime.now(UTC)
    verdict = _verdict(row, now)
    if verdict.allowed and row.group_name is not None:
        verdict = _verdict(await status(conn, row.group_name), now)
    return row, verdict


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
