"""The API's per-caller rate limit: Litestar's middleware, counting in Postgres.

Litestar's rate-limit middleware keeps a history per caller in a store and
serialises every request of a process behind one lock while it reads and
writes it. Here the middleware keeps Litestar's configuration, caller
identification, exclusions and headers, but counts in a fixed window shared
by every API process, through leases of a few requests at a time
(`app.services.api_limits`). Each response carries X-RateLimit-*; past the
limit, 429 with Retry-After.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import (
    DURATION_VALUES,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.types import Message, Receive, Scope, Send

from app.api.auth import OPEN_PATHS
from app.domain.access import Principal
from app.services.api_limits import QuotaCache
from app.services.database import Pool


@dataclass
class SharedRateLimitConfig(RateLimitConfig):
    """Litestar's configuration, plus the pool the counters live in."""

    pool: Callable[[], Pool] = field(default=lambda: _no_pool())
    quotas: dict[str, QuotaCache] = field(default_factory=dict)


def _no_pool() -> Pool:
    raise RuntimeError(
        "the rate limiter has no pool: the app's lifespan has not opened it"
    )


class SharedRateLimitMiddleware(RateLimitMiddleware):
    """Count each request in Postgres; refuse past the limit."""

    config: SharedRateLimitConfig

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Spend one request of the caller's window, then pass it on with the headers."""
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope)
        if await self.should_check_request(request=request):
            verdict = await self._quota().take(self.cache_key_from_request(request))
            headers = {
                "X-RateLimit-Policy": f"{self.max_requests}; w={DURATION_VALUES[self.unit]}",
                "X-RateLimit-Limit": str(self.max_requests),
                "X-RateLimit-Remaining": str(verdict.remaining),
                "X-RateLimit-Reset": str(verdict.reset_in_s),
            }
            if not verdict.allowed:
                raise TooManyRequestsException(headers=headers)
            send = _with_headers(send, headers)
        await self.app(scope, receive, send)

    def _quota(self) -> QuotaCache:
        # One cache per app (Litestar builds a middleware per route), made on
        # first use, once the lifespan has opened the pool.
        cache = self.config.quotas.get("cache")
        if cache is None:
            cache = QuotaCache(
                self.config.pool(),
                limit=self.max_requests,
                window_s=DURATION_VALUES[self.unit],
            )
            self.config.quotas["cache"] = cache
        return cache


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    # The response has no X-RateLimit-* headers of its own: append them raw.
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *raw]
        await send(message)

    return wrapped


def _caller(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return f"sub:{user.sub}"
    return f"ip:{get_remote_address(request)}"


def rate_limit_config(
    per_minute: int, pool: Callable[[], Pool]
) -> SharedRateLimitConfig:
    """Return the middleware's configuration for `per_minute` requests per caller."""
    return SharedRateLimitConfig(
        rate_limit=("minute", per_minute),
        exclude=OPEN_PATHS,
        identifier_for_request=_caller,
        middleware_class=SharedRateLimitMiddleware,
        pool=pool,
    )
