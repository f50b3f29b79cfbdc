"""/api/v1/queue/rate-limits: provider buckets, from `queue.rate_limits`."""

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from app.api.auth import allow
from app.api.context import AuthRequest, Conn, audit_context
from app.api.documented import OptionalBodyOperation, problems
from app.api.schemas.rate_limits import (
    EmergencyStop,
    OldBucketConfig,
    OldBucketState,
    RateLimitCheck,
    RateLimitReset,
    RateLimitsChanged,
    RateLimitStatus,
    RateLimitStatusBody,
)
from app.domain.access import OBSERVERS, Role
from app.services import rate_limits as rate_limit_service
from app.services.database import Connection


def _bucket(row: rate_limit_service.RateLimitRow) -> RateLimitStatus:
    return RateLimitStatus(
        key=row.name,
        group=row.group_name,
        rate_per_second=row.rate_per_s,
        effective_rate_per_second=round(row.effective_rate_per_s, 3),
        burst=row.burst,
        max_concurrent=row.max_concurrent,
        cooldown_s=row.cooldown_s,
        tokens=round(row.tokens, 3),
        active_leases=row.active_leases,
        paused=row.paused,
        hold_until=row.hold_until,
        updated_at=row.updated_at,
        breaker_state=row.breaker_state,
        breaker_retry_at=row.breaker_retry_at,
    )


def _old_bucket(row: rate_limit_service.RateLimitRow) -> OldBucketState:
    return OldBucketState(
        tokens_available=round(row.tokens, 3),
        concurrent=row.active_leases,
        max_concurrent=row.max_concurrent,
        last_activity=row.updated_at,
        config=OldBucketConfig(
            max_per_second=row.rate_per_s,
            max_concurrent=row.max_concurrent,
            burst_size=row.burst,
            cooldown_ms=round(row.cooldown_s * 1000),
        ),
    )


# The keys of our own fields, by name and on the wire: a bucket named like
# one of them gets no old-shaped key, so ours are never overwritten.
_OURS = frozenset(
    [*RateLimitStatus.model_fields]
    + [f.alias for f in RateLimitStatus.model_fields.values() if f.alias]
)


def _status_body(row: rate_limit_service.RateLimitRow) -> RateLimitStatusBody:
    old = {} if row.name in _OURS else {row.name: _old_bucket(row)}
    return RateLimitStatusBody(**dict(_bucket(row)), **old)


async def _set_stopped(
    request: AuthRequest, conn: Connection, data: EmergencyStop | None, *, stopped: bool
) -> RateLimitsChanged:
    given = data or EmergencyStop()
    changed = await rate_limit_service.set_stopped(
        conn,
        stopped=stopped,
        names=given.services,
        reason=given.reason,
        audit=audit_context(request),
    )
    which = (
        f"Rate limiters {', '.join(changed)}" if given.services else "All rate limiters"
    )
    return RateLimitsChanged(
        services=changed,
        paused=stopped,
        message=f"{which} have been {'paused' if stopped else 'resumed'}",
    )


class RateLimitController(Controller):
    """Provider buckets, from queue.rate_limits."""

    path = "/api/v1/queue/rate-limits"
    tags = ["rate-limits"]  # noqa: RUF012 - Litestar's class-level configuration

    @get(
        "/status/{key:str}",
        operation_id="getRateLimitStatus",
        responses=problems(404),
        guards=[allow(*OBSERVERS)],
    )
    async def get_status(self, conn: Conn, key: FromPath[str]) -> RateLimitStatusBody:
        """The bucket as of now, and under its name the old service's shape of it."""
        return _status_body(await rate_limit_service.status(conn, key))

    @get(
        "/check/{service:str}",
        operation_id="checkRateLimit",
        responses=problems(404),
        guards=[allow(*OBSERVERS)],
    )
    async def check(self, conn: Conn, service: FromPath[str]) -> RateLimitCheck:
        """Whether a call could go now; takes no token."""
        row, verdict = await rate_limit_service.check(conn, service)
        return RateLimitCheck(
            service=service,
            allowed=verdict.allowed,
            reason=verdict.reason,
            wait_ms=verdict.wait_ms,
            tokens=round(row.tokens, 3),
        )

    @post(
        "/reset/{service:str}",
        operation_id="resetRateLimit",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def reset(
        self, request: AuthRequest, conn: Conn, service: FromPath[str]
    ) -> RateLimitReset:
        """Refill the bucket and lift its Retry-After hold."""
        row = await rate_limit_service.reset(
            conn, service, audit=audit_context(request)
        )
        return RateLimitReset(**dict(_bucket(row)))

    @post(
        "/emergency-stop",
        operation_id="emergencyStop",
        operation_class=OptionalBodyOperation,
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def emergency_stop(
        self,
        request: AuthRequest,
        conn: Conn,
        data: JSONBody[EmergencyStop | None] = None,
    ) -> RateLimitsChanged:
        """Stop every call to the named providers (all when none are named)."""
        return await _set_stopped(request, conn, data, stopped=True)

    @post(
        "/resume",
        operation_id="resumeRateLimits",
        operation_class=OptionalBodyOperation,
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def resume(
        self,
        request: AuthRequest,
        conn: Conn,
        data: JSONBody[EmergencyStop | None] = None,
    ) -> RateLimitsChanged:
        """Lift an emergency stop."""
        return await _set_stopped(request, conn, data, stopped=False)
