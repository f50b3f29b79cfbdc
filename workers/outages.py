"""Riding out database outages: retry what must be written, drop dead connections.

The first failure of an outage has the pool check its idle connections
(`app.db.pool.check_in_background`), so the retries after it get fresh ones as
soon as the server is back.

`psycopg.OperationalError` is the outage class: lost connections, an
administrator's shutdown, statement and lock timeouts, too many connections.
Anything else is the statement's own fault and is not retried here.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from psycopg_pool import AsyncConnectionPool

from app.db.errors import DATABASE_UNAVAILABLE
from app.db.pool import check_in_background

logger = logging.getLogger(__name__)

T = TypeVar("T")

OUTAGE_ERRORS = DATABASE_UNAVAILABLE
RETRY_FIRST_S = 0.1
RETRY_CAP_S = 5.0


def is_outage(exc: BaseException) -> bool:
    """Return whether `exc` says the database cannot serve now (retry later)."""
    return isinstance(exc, OUTAGE_ERRORS)


async def until_done(
    pool: AsyncConnectionPool,
    what: str,
    call: Callable[[], Awaitable[T]],
    *,
    keep_trying: Callable[[], bool] = lambda: True,
) -> T:
    """Run `call` until it succeeds, retrying outages with capped backoff.

    Errors that are not outages propagate at once, and so does an outage once
    `keep_trying()` says no (a stopping lane). Cancellation (shutdown past the
    grace period) ends the retries.
    """
    delay = RETRY_FIRST_S
    while True:
        try:
            return await call()
        except OUTAGE_ERRORS as exc:
            check_in_background(pool)
            if not keep_trying():
                raise
            logger.warning(
                "The database is unavailable; retrying.",
                extra={"action": "db_retry", "what": what, "error": str(exc)[:200]},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_CAP_S)
