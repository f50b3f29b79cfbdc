"""The monitor: snapshots, thresholds, alerts that page once.

Every `WORKER_MONITOR_EVERY_S` a periodic task (deferred once for all worker
processes) calls `run_monitor`: it snapshots every queue into
`queue.queue_metrics`, reads each queue beside its thresholds and the
database's health, and raises an alert for each threshold passed. The
cooldown of each (queue, type, severity) lives in the database
(`queue.raise_alert`), so any number of processes page once. Every alert is
logged; a critical one also pages the on-call number by SMS, and by a voice
call when it concerns the money queue: a `deliver-alert` job on the
maintenance queue, enqueued in the alert's transaction, does that.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from app.db import Connection
from app.db.queries import metrics as metric_queries
from app.db.queries import monitoring as queries
from app.db.queries.monitoring import DatabaseHealthRow, QueueHealthRow
from app.db.queries.queues import list_queues
from app.domain.monitoring import Breach, DatabaseThresholds, breaches
from app.observability import metrics
from app.observability.alert_rules import QueueThresholds
from app.observability.fleet import OldPath, fleet_families
from app.services import fleet_counters
from app.services.enqueue import enqueue

logger = logging.getLogger(__name__)

_LEVELS = {
    "critical": logging.CRITICAL,
    "warning": logging.WARNING,
    "info": logging.INFO,
}
PAGED_QUEUE_BY_VOICE = "money"
ROLL_UP_HOURS_PER_RUN = 12


@dataclass(frozen=True)
class Reading:
    """The queues and the database, read once."""

    queues: list[QueueHealthRow]
    database: DatabaseHealthRow


@dataclass(frozen=True)
class RaisedAlert:
    """An alert the monitor raised (not one that was cooling down)."""

    alert_id: int
    breach: Breach
    channels: dict[str, str]


async def read(conn: Connection, *, stalled_after_s: float) -> Reading:
    """Read every queue beside its thresholds, and the database's health."""
    return Reading(
        await queries.queue_health(conn, stalled_after_s=stalled_after_s),
        await queries.database_health(conn, stalled_after_s=stalled_after_s),
    )


async def queue_thresholds(
    conn: Connection, *, stalled_after_s: float
) -> list[QueueThresholds]:
    """Return every queue's alert thresholds and severity, from the monitor's own read.

    What `run_monitor` checks each queue against, with the queue's tier: the
    Prometheus rules are rendered from these (`queue-service ops prometheus-rules`).
    """
    tiers = {queue.name: queue.tier for queue in await list_queues(conn)}
    reading = await read(conn, stalled_after_s=stalled_after_s)
    return [
        QueueThresholds(
            name=row.queue_name,
            tier=tiers[row.queue_name],
            severity=row.alert_severity,
            max_waiting=row.alert_max_waiting,
            max_oldest_age_s=row.alert_max_oldest_age_s,
            max_failed_per_hour=row.alert_max_failed_per_hour,
        )
        for row in reading.queues
    ]


async def scrape(conn: Connection, *, stalled_after_s: float) -> bytes:
    """Return the Prometheus exposition, its database gauges read now.

    Gauges read from the database are set at scrape time by the API, never by
    a worker: a worker's copy would go stale once another process runs the
    monitor. One statement reads them all, the old service's
    `failed_jobs_total` included, so a scrape costs one round trip.
    """
    await _observe_health(conn, stalled_after_s=stalled_after_s)
    return metrics.exposition()


async def scrape_old_path(conn: Connection, *, stalled_after_s: float) -> bytes:
    """Return the old scrape path's exposition: `scrape`'s, the old counters summed.

    The old service's scrape config reads the API alone, so its counters
    (`job_results_total`, ...) are served there as every process's sums.
    """
    await _observe_health(conn, stalled_after_s=stalled_after_s)
    sums = await fleet_counters.fleet_sums(conn)
    return metrics.exposition(OldPath(fleet_families(sums)))


async def _observe_health(conn: Connection, *, stalled_after_s: float) -> None:
    rows = await queries.scrape_health(conn, stalled_after_s=stalled_after_s)
    metrics.observe_health(rows, rows[0])  # every row carries the database's health


def page_channels(breach: Breach) -> list[str]:
    """Return the channels that page someone about this breach, beyond the log."""
    if breach.severity != "critical":
        return []
    if breach.queue == PAGED_QUEUE_BY_VOICE:
        return ["sms", "voice"]
    return ["sms"]


async def run_monitor(
    conn: Connection,
    *,
    stalled_after_s: float,
    thresholds: DatabaseThresholds,
    can_page: bool,
) -> list[RaisedAlert]:
    """Snapshot, check, and raise the alerts that are not cooling down.

    Args:
        conn: An autocommit connection; each alert is its own transaction.
        stalled_after_s: A worker silent this long is presumed dead.
        thresholds: The database's health limits.
        can_page: Whether ONCALL_PHONE and Twilio are configured; when not,
            critical alerts record why they paged no one.

    Returns:
        The alerts raised by this run.
    """
    await queries.capture_queue_metrics(conn)
    # A few hours per run: a deployment with a month of history catches up in
    # minutes without one long statement.
    await metric_queries.roll_up_hours(conn, max_hours=ROLL_UP_HOURS_PER_RUN)
    reading = await read(conn, stalled_after_s=stalled_after_s)
    raised = []
    for breach in breaches(reading.queues, reading.database, thresholds):
        alert = await _raise(conn, breach, can_page=can_page)
        if alert is not None:
            raised.append(alert)
    return raised


async def _raise(
    conn: Connection, breach: Breach, *, can_page: bool
) -> RaisedAlert | None:
    pages = page_channels(breach)
    channels = {"log": "sent"}
    for channel in pages:
        channels[channel] = (
            "queued"
            if can_page
            else "not sent: ONCALL_PHONE or Twilio is not configured"
        )
    async with conn.transaction():
        alert_id = await queries.raise_alert(
            conn,
            severity=breach.severity,
            alert_type=breach.type,
            queue_name=breach.queue,
            value=breach.value,
            threshold=breach.threshold,
            message=breach.message,
            channels=channels,
        )
        if alert_id is None:
            return None  # the same alert is cooling down
        if can_page:
            await enqueue_deliveries(conn, alert_id, pages)
    log_alert(alert_id, breach.severity, breach.type, breach.queue, breach.message)
    return RaisedAlert(alert_id, breach, channels)


async def enqueue_deliveries(
    conn: Connection, alert_id: int, channels: Sequence[str]
) -> None:
    """Enqueue the `deliver-alert` job of each paging channel, in the caller's transaction."""
    for channel in channels:
        await enqueue(
            conn,
            queue="maintenance",
            job_type="deliver-alert",
            data={"alertId": alert_id, "channel": channel},
        )


def log_alert(
    alert_id: int, severity: str, alert_type: str, queue: str | None, message: str
) -> None:
    """Send an alert on the log channel, which is always on."""
    logger.log(
        _LEVELS[severity],
        "Alert.",
        extra={
            "action": "alert_sent",
            "alert_id": alert_id,
            "severity": severity,
            "type": alert_type,
            "queue": queue,
            "alert": message,
        },
    )
    metrics.ALERTS_SENT.labels(severity, alert_type, "log").inc()
