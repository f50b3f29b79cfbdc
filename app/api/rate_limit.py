"""The API's per-user rate limit: Litestar's middleware on a Postgres store.

The middleware counts each caller's requests (the token's subject, or the
client address before authentication) in a sliding window and answers 429
with Retry-After once the limit is reached; every response carries the
X-RateLimit-* headers. The store is a table, so all API processes share each
caller's count.
"""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from litestar import Request
from litestar.middleware.rate_limit import RateLimitConfig, get_remote_address
from litestar.stores.base import Store

from app.api.auth import OPEN_PATHS
from app.domain.access import Principal
from app.services import api_limits
from app.services.database import Pool

STORE = "api_rate_limit"


class PostgresStore(Store):
    """A Litestar store on queue.api_rate_limit_store."""

    def __init__(self, pool: Callable[[], Pool]) -> None:
        self._pool = pool

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        """Write `value` under `key`, expiring after `expires_in`."""
        seconds = (
            expires_in.total_seconds()
            if isinstance(expires_in, timedelta)
            else expires_in
        )
        data = value.encode() if isinstance(value, str) else value
        async with self._pool().connection() as conn:
            await api_limits.put(conn, key, data, expires_in_s=seconds)

    async def get(
        self, key: str, renew_for: int | timedelta | None = None
    ) -> bytes | None:
        """Return the value under `key`, renewing its expiry when asked."""
        async with self._pool().connection() as conn:
            value = await api_limits.get(conn, key)
            if value is not None and renew_for is not None:
                seconds = (
                    renew_for.total_seconds()
                    if isinstance(renew_for, timedelta)
                    else renew_for
                )
                await api_limits.put(conn, key, value, expires_in_s=seconds)
        return value

    async def delete(self, key: str) -> None:
        """Forget `key`."""
        async with self._pool().connection() as conn:
            await api_limits.forget(conn, key)

    async def delete_all(self) -> None:
        """Forget every value."""
        async with self._pool().connection() as conn:
            await api_limits.forget_all(conn)

    async def exists(self, key: str) -> bool:
        """Return True when `key` has a live value."""
        async with self._pool().connection() as conn:
            return await api_limits.get(conn, key) is not None

    async def expires_in(self, key: str) -> int | None:
        """Return the seconds until `key` expires."""
        async with self._pool().connection() as conn:
            return await api_limits.expires_in(conn, key)


def _caller(request: Request[Any, Any, Any]) -> str:
    user = request.scope.get("user")
    if isinstance(user, Principal):
        return f"sub:{user.sub}"
    return f"ip:{get_remote_address(request)}"


def rate_limit_config(per_minute: int) -> RateLimitConfig:
    """Return the middleware's configuration for `per_minute` requests per caller."""
    return RateLimitConfig(
        rate_limit=("minute", per_minute),
        exclude=OPEN_PATHS,
        identifier_for_request=_caller,
        store=STORE,
        rate_limit_policy_header_key="X-RateLimit-Policy",
        rate_limit_limit_header_key="X-RateLimit-Limit",
        rate_limit_remaining_header_key="X-RateLimit-Remaining",
        rate_limit_reset_header_key="X-RateLimit-Reset",
    )
