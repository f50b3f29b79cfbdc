"""The shared store behind the API's per-user rate limit.

Every API process reads and writes the same rows, so a user's limit holds
across replicas.
"""

from app.db import Connection
from app.db.queries import api_limits as queries


async def get(conn: Connection, key: str) -> bytes | None:
    """Return the live value under `key`."""
    return await queries.api_store_get(conn, key=key)


async def put(
    conn: Connection, key: str, value: bytes, *, expires_in_s: float | None
) -> None:
    """Write `value` under `key`."""
    await queries.api_store_set(conn, key=key, value=value, expires_in_s=expires_in_s)


async def forget(conn: Connection, key: str) -> None:
    """Forget `key`."""
    await queries.api_store_delete(conn, key=key)


async def forget_expired(conn: Connection) -> int:
    """Forget every expired value; return how many."""
    return await queries.api_store_delete_expired(conn)


async def forget_all(conn: Connection) -> None:
    """Forget every value."""
    await queries.api_store_delete_all(conn)


async def expires_in(conn: Connection, key: str) -> int | None:
    """Return the seconds until `key` expires, or None."""
    return await queries.api_store_expires_in(conn, key=key)
