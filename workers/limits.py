"""A deployment's limits and thresholds, written to the shared tables.

The tables are the truth every process reads; RATE_LIMIT_*, BREAKER_* and
ALERT_THRESHOLD_<QUEUE>_* variables, when set, overwrite their rows when a
worker starts.
"""

import logging

from psycopg_pool import AsyncConnectionPool

from app.db.queries.monitoring import configure_queue_thresholds
from app.db.queries.providers import configure_breakers, configure_rate_limit
from app.settings import AlertSettings, LimitSettings

logger = logging.getLogger(__name__)


class UnknownBucketError(ValueError):
    """A RATE_LIMIT_* or ALERT_THRESHOLD_* variable names no bucket or queue."""


async def apply_limit_settings(
    pool: AsyncConnectionPool, limits: LimitSettings, alerts: AlertSettings
) -> None:
    """Write the environment's overrides to the rate limits, breakers and queue thresholds.

    Raises:
        UnknownBucketError: an override names no bucket or queue (nothing is changed).
    """
    async with pool.connection() as conn, conn.transaction():
        for queue in alerts.queue_overrides:
            if not await configure_queue_thresholds(
                conn,
                queue_name=queue.queue,
                max_waiting=queue.max_waiting,
                max_oldest_age_s=queue.max_oldest_age_s,
                max_failed_per_hour=queue.max_failed_per_hour,
            ):
                raise UnknownBucketError(
                    f"ALERT_THRESHOLD_{queue.queue.upper().replace('-', '_')}_*: "
                    f'no queue named "{queue.queue}" in queue.queues'
                )
            logger.info(
                "Alert thresholds overridden from the environment.",
                extra={"action": "thresholds_configured", **queue.model_dump()},
            )
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
