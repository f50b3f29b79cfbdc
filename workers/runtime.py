"""A worker process: a lane per queue, on one shared pool.

Each queue gets its own lane with the queue's concurrency from `queue.queues`,
so a flood of background jobs never takes the slots of money jobs. All of them
share the process's autocommit pool and completion writer (`workers.executor`).
LISTEN/NOTIFY wakes them; polling is only the backstop. A paused queue's lane
keeps running but claims nothing (the claim reads the flag), and a resume
wakes it by NOTIFY.

On SIGTERM or SIGINT: stop claiming, return claimed jobs that have not started,
let running jobs finish within the grace period (then they are interrupted and
go back to the queue without spending an attempt), and return.
"""

import asyncio
import logging
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import procrastinate
from prometheus_client import start_http_server
from psycopg_pool import AsyncConnectionPool

from app.db.pool import create_pool
from app.queue import build_queue_app
from app.services.alerts import can_page
from app.settings import AlertSettings, LimitSettings, ProviderSettings
from workers.deps import WorkerDeps
from workers.executor import Executor, ExecutorSettings
from workers.lane import LaneSettings
from workers.limits import apply_limit_settings
from workers.policy import PolicyCache
from workers.provider_gate import ProviderGate
from workers.providers import Providers
from workers.retry import QueuePolicyRetry
from workers.tasks import register_tasks

logger = logging.getLogger(__name__)

POLICY_REFRESH_S = 5.0


@dataclass(frozen=True)
class WorkerConfig:
    """What one worker process runs."""

    dsn: str
    queues: Sequence[str] | None = None
    poll_interval_s: float = 5.0
    shutdown_grace_s: float = 30.0
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    rescue_every_s: int = 30
    claim_lease_s: float = 5.0
    claim_buffer_s: float = 0.5
    statement_timeout_ms: int = 30_000
    idle_in_transaction_timeout_ms: int = 60_000
    pool_max_size: int = 10
    metrics_port: int = 0
    report_dir: Path = Path("reports")
    extra_task_modules: Sequence[str] = field(default_factory=tuple)
    providers: ProviderSettings = field(default_factory=ProviderSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    monitor_every_s: int = 30
    metrics_report_s: float = 5.0


def _selected(policies: PolicyCache, wanted: Sequence[str] | None) -> list[str]:
    known = sorted(policy.name for policy in policies.all())
    if wanted is None:
        return known
    unknown = sorted(set(wanted) - set(known))
    if unknown:
        raise SystemExit(
            f"unknown queue(s): {', '.join(unknown)} (known: {', '.join(known)})"
        )
    return [name for name in known if name in wanted]


def build_app(config: WorkerConfig, policies: PolicyCache) -> procrastinate.App:
    """Return the procrastinate App with every task of the service registered."""
    app = build_queue_app()
    register_tasks(
        app,
        retry=QueuePolicyRetry(policies),
        stalled_after_s=config.stalled_after_s,
        rescue_every_s=config.rescue_every_s,
        monitor_every_s=config.monitor_every_s,
        extra_modules=config.extra_task_modules,
    )
    return app


async def run_worker_process(
    config: WorkerConfig, *, stop: asyncio.Event | None = None
) -> None:
    """Run one worker per selected queue until SIGTERM, SIGINT or `stop` is set."""
    stop = stop or asyncio.Event()
    # Handle signals from the start: a stop that arrives while the pool opens
    # must stop the workers as soon as they start, not kill the process.
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await _open_and_run(config, stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def _open_and_run(config: WorkerConfig, stop: asyncio.Event) -> None:
    if config.metrics_port:
        start_http_server(config.metrics_port)
    pool = create_pool(
        config.dsn,
        min_size=2,
        max_size=config.pool_max_size,
        statement_timeout_ms=config.statement_timeout_ms,
        idle_in_transaction_timeout_ms=config.idle_in_transaction_timeout_ms,
        name="queue-service-worker",
    )
    async with pool:
        policies = PolicyCache()
        await policies.refresh(pool)
        queues = _selected(policies, config.queues)
        await apply_limit_settings(pool, config.limits, config.alerts)
        app = build_app(config, policies)
        async with app.open_async(pool):
            await _run(app, pool, policies, queues, config, stop)


async def _run(
    app: procrastinate.App,
    pool: AsyncConnectionPool,
    policies: PolicyCache,
    queues: list[str],
    config: WorkerConfig,
    stop: asyncio.Event,
) -> None:
    providers = Providers.from_settings(config.providers)
    providers.warm_up()
    deps = WorkerDeps(
        pool=pool,
        report_dir=config.report_dir,
        providers=providers,
        gate=ProviderGate(
            pool,
            max_wait_s=config.limits.rate_limit_max_wait_s,
            lease_s=config.limits.provider_lease_s,
        ),
        alerts=config.alerts,
        oncall_phone=config.providers.oncall_phone,
        can_page=can_page(config.providers),
        stalled_after_s=config.stalled_after_s,
    )
    # Each lane's concurrency is fixed when it starts: its slots are its own.
    lanes = [
        (
            queue,
            LaneSettings(
                concurrency=policies.get(queue).concurrency,
                poll_interval_s=config.poll_interval_s,
                claim_lease_s=config.claim_lease_s,
                claim_buffer_s=config.claim_buffer_s,
            ),
        )
        for queue in queues
    ]
    executor = Executor(
        app,
        deps,
        policies,
        lanes,
        ExecutorSettings(
            shutdown_grace_s=config.shutdown_grace_s,
            heartbeat_s=config.heartbeat_s,
            stalled_after_s=config.stalled_after_s,
            policy_refresh_s=POLICY_REFRESH_S,
            metrics_report_s=config.metrics_report_s,
        ),
    )
    try:
        await executor.run(stop)
    finally:
        await providers.aclose()
