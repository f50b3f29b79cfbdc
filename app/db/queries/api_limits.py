"""Typed wrappers of `sql/queries/api_limits.sql`."""

from app.db import Connection
from app.db.queries import execute, fetch_value


async def api_store_get(conn: Connection, *, key: str) -> bytes | None:
    """Return the live value under `key`, or None."""
    value: bytes | None = await fetch_value(conn, "api_store_get", {"key": key})
    return value


async def api_store_set(
    conn: Connection, *, key: str, value: bytes, expires_in_s: float | None
) -> None:
    """Write `value` under `key`, expiring after `expires_in_s` seconds (never when None)."""
    await execute(
        conn,
        "api_store_set",
        {"key": key, "value": value, "expires_in_s": expires_in_s},
    )


async def api_store_delete(conn: Connection, *, key: str) -> None:
    """Forget `key`."""
    await execute(conn, "api_store_delete", {"key": key})


async def api_store_delete_expired(conn: Connection) -> int:
    """Forget every expired value; return how many."""
    return int(await fetch_value(conn, "api_store_delete_expired", {}))


async def api_store_delete_all(conn: Connection) -> None:
    """Forget every value."""
    await execute(conn, "api_store_delete_all", {})


async def api_store_expires_in(conn: Connection, *, key: str) -> int | None:
    """Return the seconds until `key` expires, or None."""
    seconds: int | None = await fetch_value(conn, "api_store_expires_in", {"key": key})
    return seconds
