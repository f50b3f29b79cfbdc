"""The per-job chain around every task: idempotency ledger, outcome, metrics, logs.

procrastinate calls `run_job` as a worker middleware for every job. It
- answers a job whose idempotency key already has a succeeded attempt with the
  recorded result, without running the task body again;
- records how the attempt ended (result or error, timing) in the attempt log,
  where the job manager picks it up to write the outcome row with the job's
  new state;
- observes the metrics and logs the attempt with the job's request id.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.job_context import AbortReason, JobContext
from procrastinate.worker import Worker

from app.db.queries.worker import succeeded_outcome_for_key
from app.domain.errors import JobDeferred
from app.observability import metrics
from app.observability.logging import redact
from workers.attempts import Attempt, job_id_of
from workers.deps import DEPS_KEY, WorkerDeps

logger = logging.getLogger(__name__)

_MAX_MESSAGE = 2000


def _meta(context: JobContext) -> dict[str, Any]:
    meta = context.job.task_kwargs.get("meta")
    return meta if isinstance(meta, dict) else {}


async def run_job(
    call_next: Callable[[], Awaitable[Any]], context: JobContext, worker: Worker
) -> Any:
    """Run one attempt of a job through the ledger, then record how it ended."""
    del worker
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    job = context.job
    job_id = job_id_of(job)
    labels = (job.queue, job.task_name)
    meta = _meta(context)
    log_extra = {
        "job_id": job_id,
        "queue": job.queue,
        "job_type": job.task_name,
        "attempt": job.attempts + 1,
        "request_id": meta.get("request_id"),
    }
    started_at = datetime.now(UTC)

    key = meta.get("idempotency_key")
    if isinstance(key, str):
        async with deps.pool.connection() as conn:
            recorded = await succeeded_outcome_for_key(conn, idempotency_key=key)
        if recorded is not None:
            deps.attempts.record(
                job_id,
                Attempt(
                    started_at,
                    datetime.now(UTC),
                    "deduplicated",
                    result=recorded.result,
                ),
            )
            metrics.JOB_RESULTS.labels(*labels, "deduplicated").inc()
            logger.info(
                "Job already done under its key; not run again.",
                extra={
                    **log_extra,
                    "action": "job_deduplicated",
                    "done_by_job": recorded.job_id,
                },
            )
            return recorded.result

    logger.debug("Job started.", extra={**log_extra, "action": "job_started"})
    clock = time.perf_counter()
    try:
        result = await call_next()
    except (asyncio.CancelledError, procrastinate_exceptions.JobAborted) as exc:
        shutdown = context.abort_reason() == AbortReason.SHUTDOWN
        ending = "interrupted" if shutdown else "aborted"
        _record(deps, job_id, started_at, ending, exc)
        metrics.JOB_RESULTS.labels(*labels, ending).inc()
        logger.info(
            "Job interrupted." if shutdown else "Job aborted.",
            extra={**log_extra, "action": "job_cancelled"},
        )
        raise
    except JobDeferred as exc:
        # Waiting for a limit is not a failure: the attempt is not counted.
        _record(deps, job_id, started_at, "rate_limited", exc)
        metrics.JOB_RESULTS.labels(*labels, "rate_limited").inc()
        logger.info(
            "Job waits for a provider limit.",
            extra={
                **log_extra,
                "action": "job_rate_limited",
                "reason": exc.reason,
                "until": exc.until.isoformat(),
            },
        )
        raise
    except Exception as exc:
        metrics.JOB_DURATION.labels(*labels).observe(time.perf_counter() - clock)
        _record(deps, job_id, started_at, "failed", exc)
        metrics.JOB_RESULTS.labels(*labels, "failed").inc()
        logger.warning(
            "Job attempt failed.",
            extra={
                **log_extra,
                "action": "job_failed",
                "error_type": type(exc).__name__,
                "error": str(exc)[:_MAX_MESSAGE],
            },
        )
        raise
    metrics.JOB_DURATION.labels(*labels).observe(time.perf_counter() - clock)
    deps.attempts.record(
        job_id, Attempt(started_at, datetime.now(UTC), "succeeded", result=result)
    )
    metrics.JOB_RESULTS.labels(*labels, "succeeded").inc()
    logger.debug("Job succeeded.", extra={**log_extra, "action": "job_succeeded"})
    return result


def _record(
    deps: WorkerDeps, job_id: int, started_at: datetime, ending: Any, exc: BaseException
) -> None:
    # Provider errors quote what they refused ("The 'To' number +1415... is
    # not a valid phone number"); outcomes and queue.failures keep no personal data.
    message = redact(str(exc) or type(exc).__doc__ or type(exc).__name__)
    deps.attempts.record(
        job_id,
        Attempt(
            started_at,
            datetime.now(UTC),
            ending,
            error_type=type(exc).__name__,
            error_message=message.strip()[:_MAX_MESSAGE],
        ),
    )
