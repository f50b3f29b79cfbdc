"""Worker processes: one procrastinate worker per queue, on one shared pool.

Each queue gets its own procrastinate worker with the queue's concurrency from
`queue.queues`, so a flood of background jobs never takes the slots of money
jobs. All of them share the process's autocommit pool. LISTEN/NOTIFY wakes them;
polling is only the backstop.
"""

import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass

import procrastinate
from procrastinate.worker import Worker

from app.db import Connection
from app.db.pool import create_pool
from app.db.queries.queues import QueueRow, list_queues
from app.queue import build_queue_app
from workers.tasks import register_tasks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    """What one worker process runs."""

    dsn: str
    queues: Sequence[str] | None = None
    poll_interval_s: float = 5.0
    shutdown_grace_s: float = 30.0
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 60_000


def build_app() -> procrastinate.App:
    """Return the procrastinate App with every task of the service registered."""
    app = build_queue_app()
    register_tasks(app)
    return app


async def _selected_queues(
    conn: Connection, wanted: Sequence[str] | None
) -> list[QueueRow]:
    queues = await list_queues(conn)
    if wanted is None:
        return queues
    known = {queue.name for queue in queues}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise SystemExit(
            f"unknown queue(s): {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )
    return [queue for queue in queues if queue.name in wanted]


def _stop_all(workers: list[Worker]) -> None:
    # Each worker stops fetching, lets its running jobs finish within the grace
    # period, then returns.
    for worker in workers:
        worker.stop()  # type: ignore[no-untyped-call]


async def run_worker_process(config: WorkerConfig) -> None:
    """Run one worker per selected queue until SIGTERM or SIGINT."""
    pool = create_pool(
        config.dsn,
        min_size=2,
        # Each worker holds a LISTEN connection and runs jobs on others.
        max_size=12,
        statement_timeout_ms=config.statement_timeout_ms,
        idle_in_transaction_timeout_ms=config.idle_in_transaction_timeout_ms,
        name="queue-service-worker",
    )
    async with pool:
        async with pool.connection() as conn:
            queues = await _selected_queues(conn, config.queues)
        app = build_app()
        async with app.open_async(pool):
            workers = [
                Worker(
                    app=app,
                    queues=[queue.name],
                    name=queue.name,
                    concurrency=queue.concurrency,
                    fetch_job_polling_interval=config.poll_interval_s,
                    shutdown_graceful_timeout=config.shutdown_grace_s,
                    install_signal_handlers=False,
                    listen_notify=True,
                )
                for queue in queues
            ]
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, _stop_all, workers)
            logger.info(
                "Workers started.",
                extra={"action": "workers_started", "queues": [q.name for q in queues]},
            )
            try:
                await asyncio.gather(*(worker.run() for worker in workers))  # type: ignore[no-untyped-call]
            finally:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    with contextlib.suppress(Exception):
                        loop.remove_signal_handler(signum)
            logger.info("Workers stopped.", extra={"action": "workers_stopped"})
