"""The API's per-caller rate limit: Litestar's middleware, counting in Postgres.

Litestar's rate-limit middleware keeps a history per caller in a store and
serialises every request of a process behind one lock while it reads and
writes it. Here the middleware keeps Litestar's configuration, caller
identification, exclusions and headers, but counts in a fixed window shared
by every API process, through leases of a few requests at a time
(`app.services.api_limits`). Each response carries X-RateLimit-*; past the
limit, 429 with Retry-After.

Endpoint limits (the old service's `/jobs`, `/queues`, `/metrics` limits) are
counted beside the global one, per caller and path family: a request spends
one of each that applies, and the headers tell the one with less left.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    RateLimitConfig,
    RateLimitMiddleware,
)
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app.api.auth import OPEN_PATHS
from app.domain.access import Principal
from app.services.api_limits import QuotaCache
from app.services.database import Pool


@dataclass
class SharedRateLimitConfig(RateLimitConfig):
    """Litestar's configuration, plus the pool the counters live in."""

    pool: Callable[[], Pool] = field(default=lambda: _no_pool())
    # (path prefix, requests per window) of the endpoint families with a
    # limit of their own, besides the global one.
    endpoint_limits: tuple[tuple[str, int], ...] = ()
    # Made on first use and shared by the middleware of every route: the quota
    # caches (once the lifespan has opened the pool) and the fixed headers.
    shared: dict[str, Any] = field(default_factory=dict)


def _no_pool() -> Pool:
    raise RuntimeError(
        "the rate limiter has no pool: the app's lifespan has not opened it"
    )


class SharedRateLimitMiddleware(RateLimitMiddleware):
    """Count each request in Postgres; refuse past the limit."""

    config: SharedRateLimitConfig

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Spend one request of the caller's window, then pass it on with the headers."""
        # Hot path: the caller comes straight from the scope and the fixed
        # headers are encoded once, instead of building a Request per call.
        if self.check_throttle_handler is not None:
            request = scope["litestar_app"].request_class(scope)
            if not await self.check_throttle_handler(request):
                await self.app(scope, receive, send)
                return
        caller = _caller_of(scope)
        verdict = await _quota_of(self.config).take(caller)
        limit = self.max_requests
        if verdict.allowed:
            family = _family_of(self.config, scope["path"])
            if family is not None:
                prefix, family_limit = family
                own = await _quota_of(self.config, prefix, family_limit).take(
                    f"{caller}|{prefix}"
                )
                if not own.allowed or own.remaining < verdict.remaining:
                    verdict, limit = own, family_limit
        window_s = DURATION_VALUES[self.unit]
        if not verdict.allowed:
            raise TooManyRequestsException(
                headers={
                    "X-RateLimit-Policy": f"{limit}; w={window_s}",
                    "X-RateLimit-Limit": str(limit),
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(verdict.reset_in_s),
                }
            )
        headers = [
            (b"x-ratelimit-policy", f"{limit}; w={window_s}".encode()),
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(verdict.remaining).encode()),
            (b"x-ratelimit-reset", str(verdict.reset_in_s).encode()),
        ]
        await self.app(scope, receive, _with_headers(send, headers))


def _family_of(config: SharedRateLimitConfig, path: str) -> tuple[str, int] | None:
    for prefix, limit in config.endpoint_limits:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix, limit
    return None


def _quota_of(
    config: SharedRateLimitConfig, family: str = "", limit: int | None = None
) -> QuotaCache:
    # One cache per app and limit (Litestar builds a middleware per route),
    # made on first use, once the lifespan has opened the pool.
    caches: dict[str, QuotaCache] = config.shared.setdefault("caches", {})
    cache = caches.get(family)
    if cache is None:
        unit, default = config.rate_limit
        cache = QuotaCache(
            config.pool(),
            limit=default if limit is None else limit,
            window_s=DURATION_VALUES[unit],
        )
        caches[family] = cache
    return cache


def refused_callers_limit(
    config: SharedRateLimitConfig,
) -> Callable[[ASGIApp], ASGIApp]:
    """Return middleware, to run before authentication, limiting refused callers.

    A request that authentication refuses never reaches the per-caller limit
    (it runs after authentication, to count by token subject). Such requests
    spend the same limit keyed by client address, here; past it they get 429
    instead of 401, so guessing tokens costs what any other request costs.
    """
    unit, limit = config.rate_limit

    def middleware(app: ASGIApp) -> ASGIApp:
        async def limited(scope: Scope, receive: Receive, send: Send) -> None:
            try:
                await app(scope, receive, send)
            except NotAuthorizedException:
                verdict = await _quota_of(config).take(_caller_of(scope))
                if not verdict.allowed:
                    raise TooManyRequestsException(
                        headers={
                            "X-RateLimit-Policy": f"{limit}; w={DURATION_VALUES[unit]}",
                            "X-RateLimit-Limit": str(limit),
                            "X-RateLimit-Remaining": "0",
                            "X-RateLimit-Reset": str(verdict.reset_in_s),
                        }
                    ) from None
                raise

        return limited

    return middleware


def _with_headers(send: Send, raw: list[tuple[bytes, bytes]]) -> Send:
    # The response has no X-RateLimit-* headers of its own: append them raw.
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *raw]
        await send(message)

    return wrapped


def _caller_of(scope: Scope) -> str:
    # The caller is the token's subject, else the client's address.
    user = scope.get("user")
    if isinstance(user, Principal):
        return f"sub:{user.sub}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


def _caller(request: Request[Any, Any, Any]) -> str:
    return _caller_of(request.scope)


def rate_limit_config(
    per_minute: int,
    pool: Callable[[], Pool],
    endpoint_limits: tuple[tuple[str, int], ...] = (),
) -> SharedRateLimitConfig:
    """Return the middleware's configuration for `per_minute` requests per caller.

    `endpoint_limits`: (path prefix, requests per minute) counted beside it;
    a limit of 0 is left out.
    """
    return SharedRateLimitConfig(
        rate_limit=("minute", per_minute),
        exclude=OPEN_PATHS,
        identifier_for_request=_caller,
        middleware_class=SharedRateLimitMiddleware,
        pool=pool,
        endpoint_limits=tuple((p, n) for p, n in endpoint_limits if n > 0),
    )
