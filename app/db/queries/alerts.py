"""Typed wrappers of `sql/queries/alerts.sql`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import fetch_all, fetch_one


@dataclass(frozen=True)
class AlertRow:
    """An alert of `queue.alert_history`."""

    id: int
    severity: str
    type: str
    queue_name: str | None
    value: float | None
    threshold: float | None
    message: str
    channels: dict[str, Any]
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None


async def list_alerts(
    conn: Connection, *, severity: str | None, limit: int
) -> list[AlertRow]:
    """Return the newest alerts."""
    return await fetch_all(
        conn, "list_alerts", {"severity": severity, "limit": limit}, AlertRow
    )


async def list_open_alerts(
    conn: Connection, *, severity: str | None, limit: int
) -> list[AlertRow]:
    """Return the newest alerts nobody acknowledged yet."""
    return await fetch_all(
        conn, "list_open_alerts", {"severity": severity, "limit": limit}, AlertRow
    )


async def acknowledge_alert(
    conn: Connection, *, alert_id: int, by: str
) -> AlertRow | None:
    """Acknowledge the alert; return it, or None when it does not exist."""
    return await fetch_one(
        conn, "acknowledge_alert", {"id": alert_id, "by": by}, AlertRow
    )


async def insert_alert(
    conn: Connection,
    *,
    severity: str,
    type: str,
    queue_name: str | None,
    value: float | None,
    threshold: float | None,
    message: str,
    channels: dict[str, Any],
) -> AlertRow:
    """Record an alert."""
    params = {
        "severity": severity,
        "type": type,
        "queue_name": queue_name,
        "value": value,
        "threshold": threshold,
        "message": message,
        "channels": Jsonb(channels),
    }
    row = await fetch_one(conn, "insert_alert", params, AlertRow)
    if row is None:  # INSERT ... RETURNING returns its row
        raise RuntimeError("insert_alert returned no row")
    return row
