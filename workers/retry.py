"""The retry strategy of every task: the job's queue policy decides."""

import asyncio
from datetime import UTC, datetime, timedelta

from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from app.domain.errors import JobDeferred, PermanentTaskError
from app.domain.policy import may_retry, retry_delay_s
from workers.attempts import AttemptLog, job_id_of
from workers.policy import PolicyCache

# Failures no other attempt can fix.
PERMANENT = (PermanentTaskError, procrastinate_exceptions.TaskNotFound)


class QueuePolicyRetry(BaseRetryStrategy):
    """Retry per the queue's row of `queue.queues`: attempts, backoff, jitter.

    A job interrupted by a worker's shutdown goes back at once and that attempt
    is not counted (the job manager sees the interruption in the attempt log);
    a job aborted on request is not retried.
    """

    def __init__(self, policies: PolicyCache, attempts: AttemptLog) -> None:
        self.policies = policies
        self.attempts = attempts

    def get_retry_decision(
        self, *, exception: BaseException, job: Job
    ) -> RetryDecision | None:
        """Return when to try again, or None to fail the job now."""
        if isinstance(
            exception, (procrastinate_exceptions.JobAborted, asyncio.CancelledError)
        ):
            # Cancelled by a shutdown: back to the queue now (the middleware
            # marked the attempt interrupted, and it is not counted). Cancelled
            # because someone aborted the job: it ends aborted.
            attempt = self.attempts.peek(job_id_of(job))
            if attempt is not None and attempt.ending == "interrupted":
                return RetryDecision(retry_at=datetime.now(UTC))
            return None
        if isinstance(exception, JobDeferred):
            # A provider limit: run again when it allows, attempts untouched.
            return RetryDecision(retry_at=exception.until)
        if isinstance(exception, PERMANENT):
            return None
        policy = self.policies.get(job.queue)
        if not may_retry(
            policy, attempts_before=job.attempts, job_limit=_job_limit(job)
        ):
            return None
        delay = retry_delay_s(policy, attempts_before=job.attempts)
        return RetryDecision(retry_at=datetime.now(UTC) + timedelta(seconds=delay))


def _job_limit(job: Job) -> int | None:
    # A job may carry its own attempt limit (the API's options.attempts).
    meta = job.task_kwargs.get("meta")
    limit = meta.get("max_attempts") if isinstance(meta, dict) else None
    return (
        limit
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0
        else None
    )
