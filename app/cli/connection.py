"""What the database commands share: the configured DSN and one connection to it."""

from collections.abc import Awaitable, Callable

from psycopg import AsyncConnection

from app.db import Connection
from app.settings import Settings


def require_dsn(settings: Settings) -> str:
    """Return DATABASE_URL, or stop: only `dev` starts a database of its own."""
    if settings.database.url is None:
        raise SystemExit(
            "DATABASE_URL is not set (only `queue-service dev` starts an embedded PostgreSQL)"
        )
    return settings.database.url


async def on_connection(
    dsn: str, action: Callable[[Connection], Awaitable[None]]
) -> None:
    """Run `action` on one autocommit connection to `dsn`."""
    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        await action(conn)
