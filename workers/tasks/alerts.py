"""The monitor's periodic run, and paging the on-call number about an alert."""

import logging
from typing import Any
from xml.sax.saxutils import escape

from procrastinate.job_context import JobContext

from app.db.queries.monitoring import get_alert, record_alert_channel
from app.domain.errors import JobDeferred, PermanentTaskError
from app.domain.monitoring import DatabaseThresholds
from app.domain.payloads import DeliverAlert
from app.observability import metrics
from app.services.monitoring import run_monitor
from workers.deps import DEPS_KEY, WorkerDeps
from workers.providers.errors import ProviderError
from workers.tasks.calls import JobCalls
from workers.tasks.payload import load_payload
from workers.tasks.registry import task_body

logger = logging.getLogger(__name__)

# A page draws from its channel's bucket; both are in the twilio group, the
# deliver-alert type's bucket.
CHANNEL_BUCKETS = {"sms": "twilio-sms", "voice": "twilio-voice"}


@task_body("monitor")
async def monitor(
    context: JobContext, /, timestamp: int | None = None, **_: Any
) -> dict[str, int]:
    """Snapshot the queues, check thresholds and database health, raise alerts.

    Deferred once per period for all processes; alerts are deduplicated by
    their cooldown in the database, so a rerun pages no one twice. Safe to
    retry. Defers a `deliver-alert` job per paging channel of a critical alert.
    """
    del timestamp
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    thresholds = DatabaseThresholds(
        max_dead_tuples=deps.alerts.max_dead_tuples,
        max_transaction_age_s=deps.alerts.max_transaction_age_s,
        max_vacuum_age_s=deps.alerts.max_vacuum_age_s,
    )
    async with deps.pool.connection() as conn:
        raised = await run_monitor(
            conn,
            stalled_after_s=deps.stalled_after_s,
            thresholds=thresholds,
            can_page=deps.can_page,
        )
    return {"alerts_raised": len(raised)}


@task_body("deliver-alert")
async def deliver_alert(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Page ONCALL_PHONE about an alert: an SMS, or a voice call reading it out.

    Retries: per the maintenance queue; a refusal fails at once. Safe to
    retry: the call goes through the gate under the job's key
    (`alert-<id>-<channel>`), so a page recorded as sent is not sent again.
    Records the channel's result on the alert. Defers nothing.
    """
    page = load_payload(DeliverAlert, data)
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    async with deps.pool.connection() as conn:
        alert = await get_alert(conn, alert_id=page.alert_id)
    if alert is None:
        raise PermanentTaskError(f"alert {page.alert_id} does not exist")
    if deps.oncall_phone is None:
        await _record(deps, page, "not sent: ONCALL_PHONE is not set")
        raise PermanentTaskError(
            f"alert {page.alert_id} not paged: ONCALL_PHONE is not set"
        )
    text = f"[{alert.severity}] queue-service: {alert.message}"
    calls = JobCalls(context, meta)
    twilio = calls.providers.twilio
    phone = deps.oncall_phone
    try:
        if page.channel == "sms":
            sent = await calls.call(
                "send",
                bucket=CHANNEL_BUCKETS["sms"],
                request={"to": phone, "body": text},
                send=lambda _key: twilio.send_sms(to=phone, body=text),
            )
        else:
            twiml = f"<Response><Say>{escape(text)}</Say></Response>"
            sent = await calls.call(
                "call",
                bucket=CHANNEL_BUCKETS["voice"],
                request={"to": phone, "twiml": twiml},
                send=lambda _key: twilio.call(to=phone, twiml=twiml),
            )
    except JobDeferred:
        raise  # still queued: it goes when the limit allows
    except (ProviderError, PermanentTaskError) as exc:
        await _record(deps, page, f"failed: {exc}")
        raise
    await _record(deps, page, f"sent {sent.get('sid')}")
    metrics.ALERTS_SENT.labels(alert.severity, alert.type, page.channel).inc()
    return {"alertId": page.alert_id, "channel": page.channel, "sid": sent.get("sid")}


async def _record(deps: WorkerDeps, page: DeliverAlert, result: str) -> None:
    async with deps.pool.connection() as conn:
        await record_alert_channel(
            conn, alert_id=page.alert_id, channel=page.channel, result=result[:500]
        )
