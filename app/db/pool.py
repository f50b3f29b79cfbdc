"""The process's connection pool."""

import asyncio
import logging
from typing import Any

import msgspec
from psycopg import AsyncConnection
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import AsyncConnectionPool

logger = logging.getLogger(__name__)

_checks: dict[int, asyncio.Task[None]] = {}


def session_options(
    *,
    statement_timeout_ms: int,
    idle_in_transaction_timeout_ms: int,
    lock_timeout_ms: int | None = None,
) -> str:
    """Return libpq `options` that bound every session of ours.

    Set at connection start, so they cost no round trip per checkout.
    """
    options = (
        f"-c statement_timeout={statement_timeout_ms} "
        f"-c idle_in_transaction_session_timeout={idle_in_transaction_timeout_ms}"
    )
    if lock_timeout_ms is not None:
        options += f" -c lock_timeout={lock_timeout_ms}"
    return options


def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 10,
    statement_timeout_ms: int = 30_000,
    idle_in_transaction_timeout_ms: int = 60_000,
    lock_timeout_ms: int | None = None,
    acquire_timeout_s: float = 30.0,
    name: str = "queue-service",
) -> AsyncConnectionPool:
    """Return an unopened pool of autocommit connections.

    Autocommit and no per-checkout health check: procrastinate's default pool
    checks each connection on checkout and runs each statement in its own
    transaction, about four round trips per statement instead of one. A broken
    connection is still replaced: psycopg_pool discards connections that fail.
    A checkout waits at most `acquire_timeout_s` (then `PoolTimeout`). After
    an outage, `pool.check()` replaces dead idle connections in one go.
    Open it with `async with pool:` or `await pool.open()`.
    """
    kwargs: dict[str, Any] = {
        "options": session_options(
            statement_timeout_ms=statement_timeout_ms,
            idle_in_transaction_timeout_ms=idle_in_transaction_timeout_ms,
            lock_timeout_ms=lock_timeout_ms,
        ),
        "application_name": name,
    }
    return AsyncConnectionPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        kwargs=kwargs,
        configure=_autocommit,
        timeout=acquire_timeout_s,
        open=False,
        name=name,
    )


async def _autocommit(conn: AsyncConnection[Any]) -> None:
    # Set here rather than in the pool's connection kwargs: procrastinate opens
    # its LISTEN connection with the pool's kwargs plus its own autocommit=True,
    # and a second autocommit keyword would be a TypeError.
    await conn.set_autocommit(True)
    # Every job's arguments are JSON read at its claim and its outcome JSON
    # written at its completion: msgspec (already here, under Litestar) does
    # both several times faster than the standard library.
    set_json_loads(msgspec.json.decode, conn)
    set_json_dumps(msgspec.json.encode, conn)


def check_in_background(pool: AsyncConnectionPool) -> None:
    """Have the pool test its idle connections and replace the dead ones.

    A PostgreSQL restart leaves every idle connection dead, and the pool finds
    out one checkout at a time: each retry, each request would draw another
    dead one. Whoever first sees the outage calls this; one check per pool
    runs at a time, in the background. Healthy checkouts cost nothing extra.
    """
    running = _checks.get(id(pool))
    if running is not None and not running.done():
        return
    _checks[id(pool)] = asyncio.create_task(_check(pool), name="check connections")


async def _check(pool: AsyncConnectionPool) -> None:
    try:
        await pool.check()
    except Exception:  # a check during the outage fails too; a later one will do
        logger.debug("Connection check failed.", exc_info=True)
