"""Alerts: list, acknowledge, and a test alert on a channel.

The monitor that raises alerts from thresholds, and the SMS and voice
channels, arrive with the operations work; the log channel works now.
"""

import logging

from app.db import Connection
from app.db.queries import alerts as queries
from app.db.queries.alerts import AlertRow
from app.domain.errors import AlertNotFound, ChannelNotConfigured
from app.services.audit import AuditContext, record

__all__ = ["AlertRow"]

logger = logging.getLogger(__name__)

CHANNELS = ("log", "sms", "voice")
_LEVELS = {
    "critical": logging.CRITICAL,
    "warning": logging.WARNING,
    "info": logging.INFO,
}


async def list_alerts(
    conn: Connection, *, severity: str | None, limit: int
) -> list[AlertRow]:
    """Return the newest alerts, optionally of one severity."""
    return await queries.list_alerts(conn, severity=severity, limit=limit)


async def acknowledge(
    conn: Connection, alert_id: int, *, audit: AuditContext
) -> AlertRow:
    """Record who acknowledged the alert (the first acknowledgement stands).

    Raises:
        AlertNotFound: no alert has this id.
    """
    async with conn.transaction():
        row = await queries.acknowledge_alert(
            conn, alert_id=alert_id, by=audit.principal.sub
        )
        if row is None:
            raise AlertNotFound(f"alert {alert_id} does not exist", alert_id=alert_id)
        await record(conn, audit, "alert.acknowledge", f"alert:{alert_id}")
    return row


async def send_test(
    conn: Connection, *, severity: str, channel: str, audit: AuditContext
) -> AlertRow:
    """Send a test alert on `channel` and record it with the channel's result.

    Raises:
        ChannelNotConfigured: the channel cannot send from this deployment.
    """
    if channel != "log":
        raise ChannelNotConfigured(
            f"channel {channel} is not configured: SMS and voice alerts need the Twilio provider; "
            "use channel log"
        )
    message = f"test alert ({severity}) requested by {audit.principal.sub}"
    logger.log(
        _LEVELS[severity],
        "Alert.",
        extra={
            "action": "alert_sent",
            "severity": severity,
            "type": "test",
            "request_id": audit.request_id,
            "alert": message,
        },
    )
    async with conn.transaction():
        row = await queries.insert_alert(
            conn,
            severity=severity,
            type="test",
            queue_name=None,
            value=None,
            threshold=None,
            message=message,
            channels={"log": "sent"},
        )
        await record(
            conn,
            audit,
            "alert.test",
            f"alert:{row.id}",
            channel=channel,
            severity=severity,
        )
    return row
