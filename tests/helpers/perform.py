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
from workers.attempts import AttemptLog
from workers.deps import DEPS_KEY, WorkerDeps


async def open_deps(dsn: str, report_dir: Path) -> WorkerDeps:
    """Open a pool and the shared resources tasks expect."""
    pool: AsyncConnectionPool = create_pool(dsn, min_size=1, max_size=4)
    await pool.open()
    return WorkerDeps(pool=pool, attempts=AttemptLog(), report_dir=report_dir)


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
    return await body(context, **kwargs)
