"""`queue-service worker`: worker processes, configured from the settings.

`workers` is imported inside the functions, so the commands that run no
worker (`serve` above all) never load task code.
"""

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.connection import require_dsn
from app.settings import Settings

if TYPE_CHECKING:
    from workers.runtime import WorkerConfig


def worker_config(
    settings: Settings, dsn: str, queues: str | None = None
) -> "WorkerConfig":
    """Return the worker runtime's configuration: the settings as plain values."""
    from workers.runtime import WorkerConfig

    worker = settings.worker
    return WorkerConfig(
        dsn=dsn,
        queues=queues.split(",") if queues else None,
        poll_interval_s=worker.poll_interval_s,
        shutdown_grace_s=worker.shutdown_grace_s,
        heartbeat_s=worker.heartbeat_s,
        stalled_after_s=worker.stalled_after_s,
        rescue_every_s=worker.rescue_every_s,
        claim_lease_s=worker.claim_lease_s,
        claim_buffer_s=worker.claim_buffer_s,
        statement_timeout_ms=settings.database.statement_timeout_ms,
        idle_in_transaction_timeout_ms=settings.database.idle_in_transaction_timeout_ms,
        pool_max_size=settings.database.pool_max_size,
        metrics_port=worker.metrics_port + worker.process_index
        if worker.metrics_port
        else 0,
        report_dir=Path(worker.report_dir),
        extra_task_modules=tuple(
            m.strip() for m in worker.extra_task_modules.split(",") if m.strip()
        ),
        providers=settings.providers,
        limits=settings.limits,
        alerts=settings.alerts,
        monitor_every_s=worker.monitor_every_s,
        metrics_report_s=settings.log.metrics_report_s,
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run worker processes."""
    dsn = require_dsn(settings)
    if args.processes > 1:
        from workers.supervisor import supervise

        return supervise(
            args.processes, ["--queues", args.queues] if args.queues else []
        )
    from workers.runtime import run_worker_process

    asyncio.run(run_worker_process(worker_config(settings, dsn, args.queues)))
    return 0
