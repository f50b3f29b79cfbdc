"""The API's per-caller rate limit: Litestar's middleware, counting in Postgres.

Litestar's rate-limit middleware keeps a history per caller in a store and
serialises every request of a process behind one lock while it reads and
writes it. Here the middleware keeps Litestar's configuration, caller
identification, exclusions and headers, but counts with one atomic statement
per request in a fixed window shared by every API process (and no lock).
Each response carries X-RateLimit-*; past the limit, 429 with Retry-After.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request
from litestar.datastructures import MutableScopeHeaders
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
from app.services import api_limits
from app.services.database import Pool


@dataclass
class SharedRateLimitConfig(RateLimitConfig):
    """Litestar's configuration, plus the pool the counters live in."""

    pool: Callable[[], Pool] = field(default=lambda: _no_pool())


def _no_pool() -> Pool:
    raise RuntimeError(
        "the rate limiter has no pool: the app's lifespan has not opened it"
    )


class SharedRateLimitMiddleware(RateLimitMiddleware):
    """Count each request in Postgres; refuse past the limit."""

    config: SharedRateLimitConfig

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Count the request, then pass it on with the X-RateLimit-* headers."""
        request: Request[Any, Any, Any] = scope["litestar_app"].request_class(scope)
        if await self.should_check_request(request=request):
            window_s = DURATION_VALUES[self.unit]
            async with self.config.pool().connection() as conn:
                counted = await api_limits.hit(
                    conn, self.cache_key_from_request(request), window_s=window_s
                )
            headers = {
                "X-RateLimit-Policy": f"{self.max_requests}; w={window_s}",
                "X-RateLimit-Limit": str(self.max_requests),
                "X-RateLimit-Remaining": str(max(0, self.max_requests - counted.hits)),
                "X-RateLimit-Reset": str(counted.reset_in_s),
            }
            if counted.hits > self.max_requests:
                raise TooManyRequestsException(headers=headers)
            send = _with_headers(send, headers)
        await self.app(scope, receive, send)


def _with_headers(send: Send, headers: dict[str, str]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            mutable = MutableScopeHeaders.from_message(message)
            for name, value in headers.items():
                mutable[name] = value
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
