"""The no-op task of `python -m bench drain`, loaded with WORKER_EXTRA_TASK_MODULES.

It records, for latency runs, how long after its enqueue each job started.
"""

import time
from typing import Any

import procrastinate
from procrastinate.job_context import JobContext
from procrastinate.retry import BaseRetryStrategy

BENCH_QUEUE = "bench"
BENCH_TASK = "bench-noop"
STARTED_AFTER_S: list[float] = []


async def bench_noop(
    context: JobContext, /, data: Any = None, meta: Any = None, **_: Any
) -> None:
    """Do nothing; when the payload carries its enqueue time, record the wait.

    Retries: per the bench queue (none are expected). Defers nothing.
    """
    del context, meta
    if isinstance(data, dict) and "sent_at" in data:
        STARTED_AFTER_S.append(time.time() - float(data["sent_at"]))


def register(app: procrastinate.App, retry: BaseRetryStrategy) -> None:
    """Register the no-op task on `app`."""
    app.task(name=BENCH_TASK, queue=BENCH_QUEUE, retry=retry, pass_context=True)(
        bench_noop
    )
