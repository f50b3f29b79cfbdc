"""Typed wrappers of `sql/queries/rate_limits.sql`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import fetch_all, fetch_one, fetch_value


@dataclass(frozen=True)
class RateLimitRow:
    """A bucket as of now."""

    name: str
    group_name: str | None
    rate_per_s: float
    burst: int
    max_concurrent: int | None
    cooldown_s: float
    paused: bool
    tokens: float
    hold_until: datetime | None
    active_leases: int
    updated_at: datetime
    breaker_state: str | None
    breaker_retry_at: datetime | None
    effective_rate_per_s: float


@dataclass(frozen=True)
class AdmissionRow:
    """What one party (breaker, bucket, group bucket) says to a call now."""

    subject: str
    verdict: str
    wait_s: float
    breaker_state: str | None
    in_flight: int | None
    max_concurrent: int | None


@dataclass(frozen=True)
class BucketRow:
    """A bucket as of now, with its adaptive rate and its hold."""

    name: str
    group_name: str | None
    rate_per_s: float
    effective_rate_per_s: float
    rate_factor: float  # what the last 429 left, recovering to 1 over recover_s
    slowed_age_s: float | None  # since that 429; None when never slowed
    recover_s: float
    burst: int
    max_concurrent: int | None
    cooldown_s: float
    paused: bool
    tokens: float
    hold_until: datetime | None
    hold_left_s: float | None  # None when no hold lasts now
    active_leases: int
    updated_at: datetime
    breaker_state: str | None


@dataclass(frozen=True)
class BreakerStatusRow:
    """A circuit breaker as of now."""

    provider: str
    state: str
    failures: int
    failure_threshold: int
    open_s: float
    opened_at: datetime | None
    opened_age_s: float | None
    retry_at: datetime | None
    retry_in_s: float | None
    last_error: str | None
    updated_at: datetime


@dataclass(frozen=True)
class BucketName:
    """A bucket's name."""

    name: str


async def get_rate_limit(conn: Connection, *, name: str) -> RateLimitRow | None:
    """Return the bucket, or None."""
    return await fetch_one(conn, "get_rate_limit", {"name": name}, RateLimitRow)


async def check_rate_limit(conn: Connection, *, name: str) -> list[AdmissionRow]:
    """Return what the gate's rule says to a call through the bucket now."""
    return await fetch_all(conn, "check_rate_limit", {"name": name}, AdmissionRow)


async def reset_rate_limit(conn: Connection, *, name: str) -> bool:
    """Refill the bucket and lift its hold; return False when it does not exist."""
    return await fetch_value(conn, "reset_rate_limit", {"name": name}) is not None


async def set_rate_limits_paused(
    conn: Connection, *, paused: bool, names: Sequence[str] | None
) -> list[str]:
    """Stop or resume the named buckets (all when `names` is None); return those changed."""
    params = {"paused": paused, "names": list(names) if names is not None else None}
    return [
        row.name
        for row in await fetch_all(conn, "set_rate_limits_paused", params, BucketName)
    ]


async def list_rate_limits(conn: Connection) -> list[BucketRow]:
    """Return every bucket as of now, a provider's buckets together."""
    return await fetch_all(conn, "list_rate_limits", {}, BucketRow)


async def list_breaker_status(
    conn: Connection, *, limit: int
) -> list[BreakerStatusRow]:
    """Return up to `limit` circuit breakers, those not closed first."""
    return await fetch_all(
        conn, "list_breaker_status", {"limit": limit}, BreakerStatusRow
    )
