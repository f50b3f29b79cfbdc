"""Task types the worker tests run, loaded with WORKER_EXTRA_TASK_MODULES.

`test-record-<queue>` records each run in `test_side_effects` (created by the
test fixture), after sleeping `sleep` seconds; it fails with a retryable error
while its attempt is ≤ `fail_attempts`, or permanently when `permanent` is set;
`result` = `nul` or `object` makes it return what no jsonb column can hold;
`mark_start` records a `start` row before the sleep.
`test-sync-abort` is a sync task that runs until asked to abort.
"""

import asyncio
import time
from typing import Any

import procrastinate
import psycopg
from procrastinate import exceptions
from procrastinate.job_context import JobContext
from procrastinate.retry import BaseRetryStrategy

from app.domain.errors import PermanentTaskError, RetryableTaskError
from workers.deps import DEPS_KEY, WorkerDeps

QUEUES = ("money", "communication", "background")


async def record(
    context: JobContext, /, data: Any = None, meta: Any = None, **_: Any
) -> dict[str, Any]:
    data = data or {}
    job = context.job
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    if data.get("mark_start"):
        async with deps.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO test_side_effects (job_id, attempt, value) VALUES (%s, %s, 'start')",
                (job.id, job.attempts + 1),
            )
    await asyncio.sleep(float(data.get("sleep", 0)))
    attempt = job.attempts + 1
    if data.get("permanent"):
        raise PermanentTaskError("told to fail for good")
    if attempt <= int(data.get("fail_attempts", 0)):
        said = "\x00" if data.get("nul_in_error") else ""
        raise RetryableTaskError(f"told to fail attempt {attempt}{said}")
    async with deps.pool.connection() as conn:
        await conn.execute(
            "INSERT INTO test_side_effects (job_id, attempt, value) VALUES (%s, %s, %s)",
            (job.id, attempt, data.get("value")),
        )
    if data.get("result") == "nul":
        return {"value": "nul\x00inside"}
    if data.get("result") == "object":
        return {"value": object()}
    return {"value": data.get("value"), "attempt": attempt}


def sync_abort(
    context: JobContext, /, data: Any = None, meta: Any = None, **_: Any
) -> None:
    dsn = (data or {})["dsn"]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO test_side_effects (job_id, attempt, value) VALUES (%s, 0, 'started')",
            (context.job.id,),
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if context.should_abort():
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "INSERT INTO test_side_effects (job_id, attempt, value) VALUES (%s, 0, 'saw abort')",
                    (context.job.id,),
                )
            raise exceptions.JobAborted
        time.sleep(0.05)


def register(app: procrastinate.App, retry: BaseRetryStrategy) -> None:
    for queue in QUEUES:
        app.task(
            name=f"test-record-{queue}", queue=queue, retry=retry, pass_context=True
        )(record)
    app.task(
        name="test-sync-abort", queue="background", retry=retry, pass_context=True
    )(sync_abort)
