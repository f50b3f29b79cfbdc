"""The webhook a job with a `callbackUrl` sends when it finishes.

When a job ends for good (succeeded, or failed after its last attempt), a
`webhook-deliver` job is enqueued for its callback URL: signed like every
webhook, retried by the communication queue, and keyed by the job's id
(`webhook-job-<id>-<url>`), so a job that finishes twice (rescued after its
callback was enqueued) still calls back once.
"""

import logging
from datetime import UTC, datetime
from typing import Any

from procrastinate.jobs import Job
from psycopg_pool import AsyncConnectionPool

from app.services.enqueue import enqueue
from workers.attempts import Attempt, job_id_of

logger = logging.getLogger(__name__)


def callback_url(job: Job) -> str | None:
    """Return the URL the job asked to be called back at, if any."""
    return callback_url_of(job.task_kwargs.get("data"), job.task_kwargs.get("meta"))


def callback_url_of(data: Any, meta: Any) -> str | None:
    """Return the callback URL of a job's envelope (`data`, `meta`), if any."""
    for source, name in ((meta, "callback_url"), (data, "callbackUrl")):
        url = source.get(name) if isinstance(source, dict) else None
        if isinstance(url, str) and url:
            return url
    return None


async def enqueue_callback(
    pool: AsyncConnectionPool, job: Job, *, succeeded: bool, attempt: Attempt
) -> None:
    """Enqueue the job's callback webhook; log, never raise, when it cannot be."""
    url = callback_url(job)
    if url is None:
        return
    job_id = job_id_of(job)
    payload: dict[str, Any] = {
        "jobId": job_id,
        "queue": job.queue,
        "type": job.task_name,
        "status": "completed" if succeeded else "failed",
        "result": attempt.result if succeeded else None,
        "failedReason": None if succeeded else attempt.error_message,
        "finishedAt": datetime.now(UTC).isoformat(),
    }
    meta = job.task_kwargs.get("meta")
    try:
        async with pool.connection() as conn:
            await enqueue(
                conn,
                queue="communication",
                job_type="webhook-deliver",
                data={
                    "url": url,
                    # Its own stream: one job's callback waits for nobody's.
                    "stream": f"job-{job_id}",
                    "eventId": f"job-{job_id}",
                    "event": "job.completed" if succeeded else "job.failed",
                    "payload": payload,
                },
                meta={
                    "request_id": meta.get("request_id")
                    if isinstance(meta, dict)
                    else None,
                    "callback_for": job_id,
                },
            )
    except Exception:
        logger.exception(
            "Could not enqueue a job's callback.",
            extra={"action": "callback_failed", "job_id": job_id},
        )
