"""Commands that write operations files: `ops prometheus-rules`."""

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from app.cli.connection import on_connection, require_dsn
from app.db import Connection
from app.domain.monitoring import DatabaseThresholds
from app.observability.alert_rules import QueueThresholds, render_rules
from app.settings import QueueThresholdOverride, Settings


def with_overrides(
    queues: Sequence[QueueThresholds], overrides: Sequence[QueueThresholdOverride]
) -> list[QueueThresholds]:
    """Return the queues' thresholds as ALERT_THRESHOLD_<QUEUE>_* leave them.

    A worker writes those variables to queue.queues when it starts; the rules
    take them now, so they agree with the monitor before any worker ran.

    Raises:
        SystemExit: an override names no queue of queue.queues.
    """
    by_name = {queue.name: queue for queue in queues}
    for override in overrides:
        queue = by_name.get(override.queue)
        if queue is None:
            raise SystemExit(
                f"ALERT_THRESHOLD_{override.queue.upper().replace('-', '_')}_*: "
                f'no queue named "{override.queue}" in queue.queues'
            )
        by_name[override.queue] = dataclasses.replace(
            queue,
            max_waiting=override.max_waiting or queue.max_waiting,
            max_oldest_age_s=override.max_oldest_age_s or queue.max_oldest_age_s,
            max_failed_per_hour=override.max_failed_per_hour
            or queue.max_failed_per_hour,
        )
    return list(by_name.values())


def cmd_prometheus_rules(args: argparse.Namespace, settings: Settings) -> int:
    """Render the Prometheus alert rules from the monitor's thresholds."""
    from app.services.monitoring import queue_thresholds

    alerts = settings.alerts
    database = DatabaseThresholds(
        max_dead_tuples=alerts.max_dead_tuples,
        max_transaction_age_s=alerts.max_transaction_age_s,
        max_vacuum_age_s=alerts.max_vacuum_age_s,
    )
    read: list[QueueThresholds] = []

    async def go(conn: Connection) -> None:
        read.extend(
            await queue_thresholds(
                conn, stalled_after_s=settings.worker.stalled_after_s
            )
        )

    asyncio.run(on_connection(require_dsn(settings), go))
    text = render_rules(with_overrides(read, alerts.queue_overrides), database)
    if args.output is None:
        sys.stdout.write(text)
    else:
        Path(args.output).write_text(text)
        print(f"{args.output}: {len(read)} queue(s)", file=sys.stderr)
    return 0
