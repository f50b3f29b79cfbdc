"""Run a task body directly, as a worker would, against the real database.

`perform` JSON round-trips the kwargs first, so a task never sees something a
real job could not carry.
"""

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import procrastinate
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job
from procrastinate.testing import InMemoryConnector
from psycopg_pool import AsyncConnectionPool

from app.db.pool import create_pool
from app.db.queries.tasks import insert_analytics_events
from app.settings import ProviderSettings
from workers.deps import DEPS_KEY, WorkerDeps
from workers.provider_gate import ProviderGate
from workers.providers import Providers


async def open_deps(
    dsn: str,
    report_dir: Path,
    *,
    providers: ProviderSettings | None = None,
    max_wait_s: float = 2.0,
) -> WorkerDeps:
    """Open a pool and the shared resources tasks expect (close with `close_deps`)."""
    pool: AsyncConnectionPool = create_pool(dsn, min_size=1, max_size=4)
    await pool.open()
    return WorkerDeps(
        pool=pool,
        report_dir=report_dir,
        providers=Providers.from_settings(providers or ProviderSettings()),
        gate=ProviderGate(pool, max_wait_s=max_wait_s, lease_s=60),
    )


async def close_deps(deps: WorkerDeps) -> None:
    """Close what `open_deps` opened."""
    await deps.providers.aclose()
    await deps.pool.close()


async def perform(
    body: Callable[..., Any],
    deps: WorkerDeps,
    *,
    data: Any,
    meta: dict[str, Any] | None = None,
    job_id: int = 1,
    job_type: str = "test",
    queue: str = "background",
    attempts: int = 0,
) -> Any:
    """Run `body` for a job with this data and return its result."""
    kwargs = json.loads(json.dumps({"data": data, "meta": meta or {}}))
    job = Job(
        id=job_id,
        queue=queue,
        lock=None,
        queueing_lock=None,
        task_name=job_type,
        task_kwargs=kwargs,
        attempts=attempts,
    )
    context = JobContext(
        app=procrastinate.App(connector=InMemoryConnector()),
        job=job,
        start_timestamp=time.time(),
        additional_context={DEPS_KEY: deps},
        abort_reason=lambda: None,
    )
    result = await body(context, **kwargs)
    # What the completion writer does when the job succeeds: the rows the body
    # handed over are written with the completion.
    events = deps.completion_rows.pop(job_id)
    if events:
        async with deps.pool.connection() as conn:
            await insert_analytics_events(conn, events=events)
    return result
