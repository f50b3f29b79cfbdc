"""Typed wrappers of `sql/queries/audit.sql`."""

from typing import Any

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute


async def insert_audit(
    conn: Connection,
    *,
    actor: str,
    role: str,
    action: str,
    target: str,
    request_id: str | None,
    ip: str | None,
    details: dict[str, Any],
) -> None:
    """Record an operator action."""
    params = {
        "actor": actor,
        "role": role,
        "action": action,
        "target": target,
        "request_id": request_id,
        "ip": ip,
        "details": Jsonb(details),
    }
    await execute(conn, "insert_audit", params)
