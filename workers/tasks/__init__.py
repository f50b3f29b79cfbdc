"""Task bodies, one module per area, registered on the process's App by name.

Each task's name is its job type, so `queue.enqueue('background',
'analytics-track', ...)` runs `analytics_track`. Every task takes the job's
context and the envelope's `data` and `meta`, and uses the queue policy retry.
"""

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import procrastinate
from procrastinate.retry import BaseRetryStrategy

from workers.tasks import (
    alerts,
    background,
    communication,
    maintenance,
    money,
    schedules,
)

RETENTION_CRON = "0 * * * *"  # hourly, on the hour

# Job type → (queue, task body).
TASKS: dict[str, tuple[str, Callable[..., Any]]] = {
    "analytics-track": ("background", background.analytics_track),
    "cleanup-old-data": ("background", background.cleanup_old_data),
    "generate-report": ("background", background.generate_report),
    "payment-process": ("money", money.payment_process),
    "refund-process": ("money", money.refund_process),
    "payout-process": ("money", money.payout_process),
    "nft-mint": ("money", money.nft_mint),
    "send-email": ("communication", communication.send_email),
    "send-sms": ("communication", communication.send_sms),
    "send-push": ("communication", communication.send_push),
    "webhook-deliver": ("communication", communication.webhook_deliver),
    "deliver-alert": ("maintenance", alerts.deliver_alert),
}


def every_seconds_cron(seconds: int) -> str:
    """Return a cron expression (with procrastinate's seconds field) firing every `seconds`."""
    if not 1 <= seconds <= 60 or 60 % seconds:
        raise ValueError(f"a period of {seconds}s does not divide a minute")
    return f"* * * * * */{seconds}"


def register_tasks(
    app: procrastinate.App,
    *,
    retry: BaseRetryStrategy,
    stalled_after_s: float,
    rescue_every_s: int,
    monitor_every_s: int = 30,
    extra_modules: Sequence[str] = (),
) -> None:
    """Register every task of the service, and the periodic maintenance, on `app`.

    `extra_modules` name modules with a `register(app, retry)` function, for
    task types a deployment adds (and for benchmarks and tests).
    """
    for job_type, (queue, body) in TASKS.items():
        app.task(name=job_type, queue=queue, retry=retry, pass_context=True)(body)
    rescue = app.task(
        name="rescue-stalled-jobs", queue="maintenance", retry=retry, pass_context=True
    )(maintenance.rescue_task(stalled_after_s))
    app.periodic(cron=every_seconds_cron(rescue_every_s))(rescue)
    monitor = app.task(
        name="monitor", queue="maintenance", retry=retry, pass_context=True
    )(alerts.monitor)
    app.periodic(cron=every_seconds_cron(monitor_every_s))(monitor)
    retention = app.task(
        name="run-retention", queue="maintenance", retry=retry, pass_context=True
    )(maintenance.retention)
    app.periodic(cron=RETENTION_CRON)(retention)
    run_schedules = app.task(
        name="run-schedules", queue="maintenance", retry=retry, pass_context=True
    )(schedules.run_schedules)
    app.periodic(cron=every_seconds_cron(schedules.SCHEDULES_EVERY_S))(run_schedules)
    for module in extra_modules:
        importlib.import_module(module).register(app, retry)
