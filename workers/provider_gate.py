"""The one way a task calls a provider: ledger, breaker, rate limit, then the call.

Every provider call of a job goes through `ProviderGate.call`, which takes two
statements around the call itself:

- `queue.begin_provider_call` answers from the side-effect ledger when the job's
  key already has a recorded answer for this step (a retried or rescued job
  calls no one twice), checks the provider's circuit breaker, and takes a
  token and an expiring concurrency lease from the bucket and its group;
- `queue.end_provider_call` frees the leases, records the answer (or the
  error) in the ledger and moves the breaker.

Both go through a group commit (`workers.group_calls`): the calls of one
bucket and breaker that begin (or end) while a statement of theirs is in
flight go together in the next one, each call still admitted in turn under
the bucket's row lock, so the limits stay exact across processes.

A short wait for a token happens in place; a longer one, an open breaker, an
emergency stop or a provider's 429 raise `JobDeferred`, which reschedules the
job without spending an attempt. A breaker that opens parks the waiting jobs
of its provider itself (`queue.hold_breaker_jobs`); the few that still meet
it (already claimed, or enqueued since) come back at a random time within the
next open period, and leave no outcome row. All the state is in Postgres, so every worker
process shares the same limits and breakers.
"""

import asyncio
import hashlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg_pool import AsyncConnectionPool

from app.db.queries.providers import (
    BegunCall,
    CallEnd,
    CallOutcome,
    CallStart,
    begin_provider_calls,
    end_provider_calls,
    release_provider_leases,
)
from app.domain.errors import JobDeferred, ProviderNotConfigured
from app.observability import metrics
from app.observability.logging import redact
from workers.group_calls import GroupCall
from workers.providers.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderRejected,
)

logger = logging.getLogger(__name__)

# An emergency-stopped bucket is looked at again after this long.
STOPPED_RECHECK_S = 15.0
BREAKER_STATES = {"closed": 0, "half_open": 1, "open": 2}


@dataclass(frozen=True)
class CallSite:
    """Which job makes a call, and which of its steps it is."""

    job_id: int
    key: str  # the job's idempotency key, or job-<id> when it has none
    step: str

    @property
    def ledger_key(self) -> str:
        """Return the key of this call in the ledger (and Stripe's Idempotency-Key)."""
        return f"{self.key}:{self.step}"


def fingerprint(request: dict[str, Any]) -> str:
    """Return a digest of a call's request, to tell a replay from another call."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class ProviderGate:
    """Calls providers for the tasks of one worker process."""

    def __init__(
        self, pool: AsyncConnectionPool, *, max_wait_s: float, lease_s: float
    ) -> None:
        self._pool = pool
        self._max_wait_s = max_wait_s
        self._lease_s = lease_s
        self._begins: GroupCall[CallStart, BegunCall] = GroupCall(
            pool,
            lambda conn, calls: begin_provider_calls(
                conn, calls=calls, lease_s=lease_s
            ),
        )
        self._ends: GroupCall[CallEnd, str | None] = GroupCall(
            pool, lambda conn, calls: end_provider_calls(conn, calls=calls)
        )

    async def call(
        self,
        site: CallSite,
        *,
        provider: str,
        bucket: str,
        request: dict[str, Any],
        send: Callable[[], Awaitable[dict[str, Any]]],
        subject: str | None = None,
    ) -> dict[str, Any]:
        """Make one provider call for a job, at most once per key and step.

        Args:
            site: The job and step making the call.
            provider: The job type's provider (`stripe`, `webhook`, ...). The
                breaker is the one `queue.breaker_name` picks for it and the
                job's data (one per subscriber host for webhooks).
            bucket: The rate-limit bucket (`stripe`, `twilio-sms`, ...).
            request: What is sent, for the ledger's fingerprint.
            send: Makes the call and returns the provider's answer.
            subject: What the call is about, where the breaker depends on it
                (a webhook's URL).

        Returns:
            The provider's answer, or the one recorded by an earlier attempt.

        Raises:
            JobDeferred: the call may not go for a while; nothing was sent.
            ProviderError: the provider refused or failed (see its taxonomy).
            ProviderNotConfigured: the provider's settings are missing.
        """
        digest = fingerprint(request)
        lease_ids, recorded, breaker = await self._begin(
            site, provider, bucket, digest, subject
        )
        if recorded is not None:
            return recorded
        started = time.perf_counter()
        try:
            response = await send()
        except ProviderRateLimited as exc:
            await self._end(site, breaker, bucket, lease_ids, "rate_limited", exc)
            wait_s = exc.retry_after_s if exc.retry_after_s is not None else 1.0
            raise JobDeferred(
                f"{provider} asked to slow down: {exc}",
                until=datetime.now(UTC) + timedelta(seconds=wait_s),
                reason="rate_limited",
            ) from exc
        except ProviderRejected as exc:
            await self._end(site, breaker, bucket, lease_ids, "rejected", exc)
            raise
        except ProviderError as exc:  # unavailable: 5xx, timeout, unreachable
            await self._end(site, breaker, bucket, lease_ids, "unavailable", exc)
            raise
        except ProviderNotConfigured as exc:
            await self._end(site, breaker, bucket, lease_ids, "not_sent", exc)
            raise
        except BaseException as exc:
            # Cancelled (shutdown, abort) or a bug: the call may have gone out.
            # The ledger row stays "started"; free the slots now all the same.
            await asyncio.shield(self._release(lease_ids))
            logger.warning(
                "Provider call interrupted.",
                extra={
                    "action": "provider_call_interrupted",
                    "job_id": site.job_id,
                    "provider": provider,
                    "error_type": type(exc).__name__,
                },
            )
            raise
        metrics.PROVIDER_CALL_DURATION.labels(_family(provider)).observe(
            time.perf_counter() - started
        )
        await self._end(site, breaker, bucket, lease_ids, "succeeded", None, response)
        return response

    async def _begin(
        self,
        site: CallSite,
        provider: str,
        bucket: str,
        digest: str,
        subject: str | None,
    ) -> tuple[list[int], dict[str, Any] | None, str]:
        # Returns the call's leases, or the ledger's answer when there is one,
        # and the breaker the call goes through.
        # Short waits for a token happen here.
        deadline = time.monotonic() + self._max_wait_s
        while True:
            # One group per bucket and breaker: a batch locks one bucket (and
            # its group) and one breaker, so batches cannot deadlock.
            begun = await self._begins(
                (bucket, provider, subject),
                CallStart(
                    bucket=bucket,
                    provider=provider,
                    job_id=site.job_id,
                    ledger_key=site.ledger_key,
                    step=site.step,
                    fingerprint=digest,
                    subject=subject,
                ),
            )
            breaker = begun.breaker or provider
            _observe_breaker(breaker, begun.breaker_state)
            if begun.verdict == "recorded":
                metrics.PROVIDER_CALLS.labels(_family(provider), "recorded").inc()
                logger.info(
                    "Provider call answered from the ledger; not sent again.",
                    extra={
                        "action": "provider_call_reused",
                        "job_id": site.job_id,
                        "provider": provider,
                        "step": site.step,
                    },
                )
                return [], begun.response, breaker
            if begun.verdict == "go":
                if begun.tokens_left is not None:
                    metrics.RATE_LIMIT_TOKENS.labels(bucket).set(begun.tokens_left)
                return begun.lease_ids, None, breaker
            metrics.RATE_LIMIT_WAITS.labels(bucket, begun.verdict).inc()
            wait_s = STOPPED_RECHECK_S if begun.verdict == "stopped" else begun.wait_s
            if begun.verdict == "breaker_open":
                # Spread over one more open period: the jobs turned away
                # together must not come back together.
                wait_s += random.uniform(0, wait_s)  # noqa: S311 - jitter, not secrecy
            short = begun.verdict in ("tokens", "concurrency")
            if short and time.monotonic() + wait_s <= deadline:
                await asyncio.sleep(wait_s)
                continue
            raise JobDeferred(
                _why(begun.verdict, breaker, bucket, wait_s),
                until=datetime.now(UTC) + timedelta(seconds=wait_s),
                reason=begun.verdict,
            )

    async def _end(
        self,
        site: CallSite,
        breaker: str,
        bucket: str,
        lease_ids: list[int],
        outcome: CallOutcome,
        error: BaseException | None,
        response: dict[str, Any] | None = None,
    ) -> None:
        retry_after_s = (
            error.retry_after_s if isinstance(error, ProviderRateLimited) else None
        )
        state = await self._ends(
            (bucket, breaker),
            CallEnd(
                lease_ids=lease_ids,
                bucket=bucket,
                provider=breaker,
                ledger_key=site.ledger_key,
                outcome=outcome,
                response=response,
                error=redact(str(error)) if error is not None else None,
                retry_after_s=retry_after_s,
            ),
        )
        metrics.PROVIDER_CALLS.labels(_family(breaker), outcome).inc()
        _observe_breaker(breaker, state)

    async def _release(self, lease_ids: list[int]) -> None:
        # Frees the slots of an interrupted call without touching the ledger or
        # the breaker: nobody knows how the call went.
        async with self._pool.connection() as conn:
            await release_provider_leases(conn, lease_ids=lease_ids)


def _why(verdict: str, provider: str, bucket: str, wait_s: float) -> str:
    reasons = {
        "breaker_open": f"the {provider} circuit breaker is open",
        "stopped": f"{bucket} is stopped (emergency stop)",
        "held": f"{bucket} is held after the provider's Retry-After",
        "tokens": f"{bucket} has no token",
        "concurrency": f"{bucket} has its most calls in flight",
    }
    return f"{reasons[verdict]}; trying again in {wait_s:.1f} s"


def _family(provider: str) -> str:
    # Metric labels name the provider, never a subscriber's host.
    return provider.split(":", 1)[0]


def _observe_breaker(provider: str, state: str | None) -> None:
    # Breakers per subscriber host (webhook:<host>) stay out of the gauge: its
    # labels never name hosts. queue.breaker_status shows them.
    if state is not None and ":" not in provider:
        metrics.BREAKER_STATE.labels(provider).set(BREAKER_STATES[state])
