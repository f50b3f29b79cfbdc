"""Alerts: list, acknowledge, and a test alert on a channel.

The monitor (`app.services.monitoring`) raises alerts from thresholds; here
operators read them, acknowledge them and send test alerts.
"""

from app.db import Connection
from app.db.queries import alerts as queries
from app.db.queries.alerts import AlertRow
from app.domain.errors import AlertNotFound, ChannelNotConfigured
from app.services import monitoring
from app.services.audit import AuditContext, record
from app.settings import ProviderSettings

__all__ = ["AlertRow"]

CHANNELS = ("log", "sms", "voice")


async def list_alerts(
    conn: Connection, *, severity: str | None, limit: int, open_only: bool = False
) -> list[AlertRow]:
    """Return the newest alerts, optionally of one severity or only unacknowledged."""
    if open_only:
        return await queries.list_open_alerts(conn, severity=severity, limit=limit)
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


def can_page(providers: ProviderSettings) -> bool:
    """Return whether SMS and voice alerts can reach the on-call number."""
    return all(
        (
            providers.oncall_phone,
            providers.twilio_account_sid,
            providers.twilio_auth_token,
            providers.twilio_from,
        )
    )


async def send_test(
    conn: Connection,
    *,
    severity: str,
    channel: str,
    audit: AuditContext,
    providers: ProviderSettings,
) -> AlertRow:
    """Send a test alert on `channel` and record it with the channel's result.

    The log channel sends at once. SMS and voice are sent by a worker: a
    `deliver-alert` job is enqueued with the alert, and records the result on
    it (`queued`, then `sent <sid>` or `failed: ...`).

    Raises:
        ChannelNotConfigured: SMS or voice without ONCALL_PHONE and Twilio.
    """
    if channel != "log" and not can_page(providers):
        raise ChannelNotConfigured(
            f"channel {channel} is not configured: set ONCALL_PHONE, TWILIO_ACCOUNT_SID, "
            "TWILIO_AUTH_TOKEN and TWILIO_FROM, or use channel log"
        )
    message = f"test alert ({severity}) requested by {audit.principal.sub}"
    channels = {"log": "sent"}
    if channel != "log":
        channels[channel] = "queued"
    async with conn.transaction():
        row = await queries.insert_alert(
            conn,
            severity=severity,
            type="test",
            queue_name=None,
            value=None,
            threshold=None,
            message=message,
            channels=channels,
        )
        if channel != "log":
            await monitoring.enqueue_deliveries(conn, row.id, [channel])
        await record(
            conn,
            audit,
            "alert.test",
            f"alert:{row.id}",
            channel=channel,
            severity=severity,
        )
    monitoring.log_alert(row.id, severity, "test", None, message)
    return row
