"""The chain around every attempt: idempotency ledger, outcome, metrics, logs.

`run_attempt` runs one attempt of a job and says how it ended; the lane then
decides the job's next state. It
- answers a job whose idempotency key already had a succeeded attempt when it
  was claimed (the lane asks once per claim) with the recorded result, without
  running the task body again;
- stops a body that runs past its execution timeout (the job type's, else its
  queue's): the attempt fails with `ExecutionTimedOut`, retried by the queue's
  policy, and the slot is free again. A synchronous body runs on in its
  thread after that; every shipped body is asynchronous;
- turns how the body ended (result, error, abort, shutdown, provider limit)
  into an `Attempt`, with the error's message redacted;
- observes the metrics and logs the attempt with the job's request id. Debug
  logs are built only when that level is on;
- with tracing on, runs the attempt as a span of the trace its meta carries
  (`workers.tracing`).
"""

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.job_context import AbortReason, JobContext
from procrastinate.tasks import Task
from prometheus_client import Counter, Histogram

from app.db.queries.worker import RecordedOutcome
from app.domain.errors import ExecutionTimedOut, JobDeferred
from app.observability import metrics
from app.observability.logging import redact
from workers.attempts import Attempt, Ending
from workers.tracing import traced_run

logger = logging.getLogger(__name__)

_MAX_MESSAGE = 2000


@functools.cache
def _result_counter(queue: str, job_type: str, ending: str) -> Counter:
    # A labelled child is looked up under a lock; each combination once is enough.
    return metrics.JOB_RESULTS.labels(queue, job_type, ending)


@functools.cache
def _duration(queue: str, job_type: str) -> Histogram:
    return metrics.JOB_DURATION.labels(queue, job_type)


def _log_extra(context: JobContext) -> dict[str, Any]:
    job = context.job
    meta = job.task_kwargs.get("meta")
    return {
        "job_id": job.id,
        "queue": job.queue,
        "job_type": job.task_name,
        "attempt": job.attempts + 1,
        "request_id": meta.get("request_id") if isinstance(meta, dict) else None,
    }


async def run_attempt(
    context: JobContext,
    call: Callable[[], Awaitable[Any]],
    recorded: RecordedOutcome | None = None,
    *,
    timeout_s: float | None = None,
) -> tuple[Attempt, BaseException | None]:
    """Run one attempt, or answer it with `recorded`; return how it ended, and its error.

    `timeout_s` bounds the body's run; None lets it run as long as it takes.
    """
    job = context.job
    started_at = datetime.now(UTC)
    if recorded is not None:
        _result_counter(job.queue, job.task_name, "deduplicated").inc()
        logger.info(
            "Job already done under its key; not run again.",
            extra={
                **_log_extra(context),
                "action": "job_deduplicated",
                "done_by_job": recorded.job_id,
            },
        )
        return Attempt(
            started_at, datetime.now(UTC), "deduplicated", result=recorded.result
        ), None

    debug = logger.isEnabledFor(logging.DEBUG)
    if debug:
        logger.debug(
            "Job started.", extra={**_log_extra(context), "action": "job_started"}
        )
    clock = time.perf_counter()
    try:
        result = await traced_run(
            context, functools.partial(_within, call, timeout_s)
        )()
    except (asyncio.CancelledError, procrastinate_exceptions.JobAborted) as exc:
        # No reason: the process itself is being torn down, as at shutdown.
        shutdown = context.abort_reason() in (AbortReason.SHUTDOWN, None)
        ending: Ending = "interrupted" if shutdown else "aborted"
        logger.info(
            "Job interrupted." if shutdown else "Job aborted.",
            extra={**_log_extra(context), "action": "job_cancelled"},
        )
        return _ended(job.queue, job.task_name, started_at, ending, exc), exc
    except JobDeferred as exc:
        # Waiting for a limit is not a failure: the attempt is not counted.
        logger.info(
            "Job waits for a provider limit.",
            extra={
                **_log_extra(context),
                "action": "job_rate_limited",
                "reason": exc.reason,
                "until": exc.until.isoformat(),
            },
        )
        return _ended(job.queue, job.task_name, started_at, "rate_limited", exc), exc
    except Exception as exc:
        _duration(job.queue, job.task_name).observe(time.perf_counter() - clock)
        attempt = _ended(job.queue, job.task_name, started_at, "failed", exc)
        logger.warning(
            "Job attempt failed.",
            extra={
                **_log_extra(context),
                "action": "job_failed",
                "error_type": attempt.error_type,
                "error": attempt.error_message,
            },
        )
        return attempt, exc
    _duration(job.queue, job.task_name).observe(time.perf_counter() - clock)
    _result_counter(job.queue, job.task_name, "succeeded").inc()
    if debug:
        logger.debug(
            "Job succeeded.", extra={**_log_extra(context), "action": "job_succeeded"}
        )
    return Attempt(started_at, datetime.now(UTC), "succeeded", result=result), None


async def _within(call: Callable[[], Awaitable[Any]], timeout_s: float | None) -> Any:
    deadline = asyncio.timeout(timeout_s)
    try:
        async with deadline:
            return await call()
    except TimeoutError as exc:
        if not deadline.expired():
            raise  # the body's own timeout, not ours
        raise ExecutionTimedOut(
            f"ran past its execution timeout of {timeout_s:g} s and was stopped"
        ) from exc


def _ended(
    queue: str, job_type: str, started_at: datetime, ending: Ending, exc: BaseException
) -> Attempt:
    _result_counter(queue, job_type, ending).inc()
    # Provider errors quote what they refused ("The 'To' number +1415... is
    # not a valid phone number"); outcomes and queue.failures keep no personal data.
    message = redact(str(exc) or type(exc).__doc__ or type(exc).__name__)
    # A NUL cannot be stored (jsonb, text): the write would be refused and a
    # retryable failure would fail the job instead. It reads as U+FFFD.
    message = message.replace("\x00", "\ufffd")
    return Attempt(
        started_at,
        datetime.now(UTC),
        ending,
        error_type=type(exc).__name__,
        error_message=message.strip()[:_MAX_MESSAGE],
    )


def body_call(
    task: Task[Any, Any, Any], context: JobContext
) -> tuple[Callable[[], Awaitable[Any]], bool]:
    """Return how to call the task's body for this job, and whether it is async."""
    args = (context,) if task.pass_context else ()
    kwargs = context.job.task_kwargs
    if inspect.iscoroutinefunction(task.func):
        return functools.partial(task.func, *args, **kwargs), True
    # A sync body runs in a thread; an abort reaches it through should_abort().
    return functools.partial(asyncio.to_thread, task.func, *args, **kwargs), False
