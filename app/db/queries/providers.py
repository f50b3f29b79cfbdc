"""Typed wrappers of `sql/queries/providers.sql`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_value

Verdict = Literal[
    "go", "recorded", "breaker_open", "stopped", "held", "concurrency", "tokens"
]
CallOutcome = Literal[
    "succeeded", "rejected", "unavailable", "rate_limited", "not_sent"
]


@dataclass(frozen=True)
class BegunCall:
    """What `queue.begin_provider_call` decided for one call."""

    verdict: Verdict
    wait_s: float
    lease_ids: list[int]
    response: Any
    breaker_state: str | None
    tokens_left: float | None
    breaker: str | None  # the breaker the call went through; None when recorded


@dataclass(frozen=True)
class SideEffectRow:
    """One provider call of a job, as the ledger holds it."""

    key: str
    job_id: int
    provider: str
    step: str
    fingerprint: str
    status: str
    calls: int
    resends: int  # calls made after a call whose answer was never recorded
    response: Any
    error: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class BreakerRow:
    """A provider's circuit breaker."""

    provider: str
    state: str
    failures: int
    failure_threshold: int
    open_s: float
    retry_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class CallStart:
    """One call to start with `begin_provider_calls`."""

    bucket: str
    provider: str
    job_id: int
    ledger_key: str
    step: str
    fingerprint: str
    subject: str | None = None


@dataclass(frozen=True)
class EndedCall:
    """A call's breaker state after `end_provider_calls`."""

    breaker_state: str | None


@dataclass(frozen=True)
class CallEnd:
    """One call to finish with `end_provider_calls`."""

    lease_ids: Sequence[int]
    bucket: str
    provider: str
    ledger_key: str
    outcome: CallOutcome
    response: Any
    error: str | None
    retry_after_s: float | None


async def begin_provider_calls(
    conn: Connection, *, calls: Sequence[CallStart], lease_s: float
) -> list[BegunCall]:
    """Start a batch of calls of one bucket and breaker; one result per call, in order."""
    params = {
        "buckets": [c.bucket for c in calls],
        "providers": [c.provider for c in calls],
        "job_ids": [c.job_id for c in calls],
        "ledger_keys": [c.ledger_key for c in calls],
        "steps": [c.step for c in calls],
        "fingerprints": [c.fingerprint for c in calls],
        "subjects": [c.subject for c in calls],
        "lease_s": lease_s,
    }
    rows = await fetch_all(conn, "begin_provider_calls", params, BegunCall)
    if len(rows) != len(calls):
        raise RuntimeError("queue.begin_provider_call returned no row for a call")
    return rows


async def end_provider_calls(
    conn: Connection, *, calls: Sequence[CallEnd]
) -> list[str | None]:
    """Finish a batch of calls of one bucket and breaker; each call's breaker state."""
    params = {
        "leases": [Jsonb(list(c.lease_ids)) for c in calls],
        "buckets": [c.bucket for c in calls],
        "providers": [c.provider for c in calls],
        "ledger_keys": [c.ledger_key for c in calls],
        "outcomes": [c.outcome for c in calls],
        "responses": [
            Jsonb(c.response) if c.response is not None else None for c in calls
        ],
        "errors": [c.error for c in calls],
        "retry_after_s": [c.retry_after_s for c in calls],
    }
    rows = await fetch_all(conn, "end_provider_calls", params, EndedCall)
    return [row.breaker_state for row in rows]


async def list_side_effects(conn: Connection, *, job_id: int) -> list[SideEffectRow]:
    """Return the provider calls a job made."""
    return await fetch_all(conn, "list_side_effects", {"job_id": job_id}, SideEffectRow)


async def list_breakers(conn: Connection) -> list[BreakerRow]:
    """Return every provider's breaker."""
    return await fetch_all(conn, "list_breakers", {}, BreakerRow)


async def configure_rate_limit(
    conn: Connection,
    *,
    name: str,
    rate_per_s: float | None,
    burst: int | None,
    max_concurrent: int | None,
    cooldown_s: float | None,
) -> bool:
    """Override a bucket's limits; return False when it does not exist."""
    params = {
        "name": name,
        "rate_per_s": rate_per_s,
        "burst": burst,
        "max_concurrent": max_concurrent,
        "cooldown_s": cooldown_s,
    }
    return await fetch_value(conn, "configure_rate_limit", params) is not None


async def configure_breakers(
    conn: Connection, *, failure_threshold: int | None, open_s: float | None
) -> list[str]:
    """Set every breaker's thresholds (None keeps one); return the providers changed."""
    params = {"failure_threshold": failure_threshold, "open_s": open_s}
    rows = await fetch_all(conn, "configure_breakers", params, _Provider)
    return [row.provider for row in rows]


@dataclass(frozen=True)
class _Provider:
    provider: str


async def forget_side_effects(conn: Connection, *, batch_size: int) -> int:
    """Delete one batch of old ledger rows; return how many."""
    deleted: int = await fetch_value(
        conn, "forget_side_effects", {"batch_size": batch_size}
    )
    return deleted


async def release_provider_leases(
    conn: Connection, *, lease_ids: Sequence[int]
) -> None:
    """Free the leases of a call without recording how it ended."""
    await execute(conn, "release_provider_leases", {"lease_ids": list(lease_ids)})
