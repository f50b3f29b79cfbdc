"""The retry strategy of every task: the job's queue policy decides."""

from datetime import UTC, datetime, timedelta

from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from app.domain.errors import PermanentTaskError
from app.domain.policy import may_retry, retry_delay_s
from workers.policy import PolicyCache

# Failures no other attempt can fix.
PERMANENT = (PermanentTaskError, procrastinate_exceptions.TaskNotFound)


class QueuePolicyRetry(BaseRetryStrategy):
    """Retry per the queue's row of `queue.queues`: attempts, backoff, jitter.

    The lane asks only about errors: it requeues an attempt interrupted by
    shutdown or deferred by a provider limit itself, uncounted, and ends an
    aborted job without asking.
    """

    def __init__(self, policies: PolicyCache) -> None:
        self.policies = policies

    def get_retry_decision(
        self, *, exception: BaseException, job: Job
    ) -> RetryDecision | None:
        """Return when to try again, or None to fail the job now."""
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
