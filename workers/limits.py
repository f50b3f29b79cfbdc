"""A deployment's rate-limit and breaker settings, written to the shared tables.

The tables are the truth every process reads; RATE_LIMIT_* and BREAKER_*
variables, when set, overwrite their rows when a worker starts.
"""

import logging

from psycopg_pool import AsyncConnectionPool

from app.db.queries.providers import configure_breakers, configure_rate_limit
from app.settings import LimitSettings

logger = logging.getLogger(__name__)


class UnknownBucketError(ValueError):
    """A RATE_LIMIT_* variable names a bucket that does not exist."""


async def apply_limit_settings(
    pool: AsyncConnectionPool, limits: LimitSettings
) -> None:
    """Write the environment's overrides to `queue.rate_limits` and `queue.circuit_breakers`.

    Raises:
        UnknownBucketError: an override names no bucket (nothing is changed).
    """
    async with pool.connection() as conn, conn.transaction():
        for override in limits.overrides:
            found = await configure_rate_limit(
                conn,
                name=override.bucket,
                rate_per_s=override.rate_per_s,
                burst=override.burst,
                max_concurrent=override.max_concurrent,
                cooldown_s=override.cooldown_s,
            )
            if not found:
                raise UnknownBucketError(
                    f"RATE_LIMIT_{override.bucket.upper().replace('-', '_')}_*: "
                    f'no rate limit named "{override.bucket}" in queue.rate_limits'
                )
            logger.info(
                "Rate limit overridden from the environment.",
                extra={"action": "rate_limit_configured", **override.model_dump()},
            )
        if limits.breaker_failure_threshold or limits.breaker_open_s:
            changed = await configure_breakers(
                conn,
                failure_threshold=limits.breaker_failure_threshold,
                open_s=limits.breaker_open_s,
            )
            if changed:
                logger.info(
                    "Circuit breakers configured from the environment.",
                    extra={"action": "breakers_configured", "providers": changed},
                )
