"""Queue policy: queue names, and retries and backoff as the worker applies them.

Pure rules over a queue's row of `queue.queues`; the worker loads the rows and
the retry strategy asks these functions.
"""

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal


@dataclass(frozen=True)
class QueuePolicy:
    """The part of a queue's policy that decides retries, retention and timeouts."""

    name: str
    max_attempts: int
    backoff: Literal["exponential", "fixed"]
    backoff_base_s: float
    backoff_factor: float = 2.0
    backoff_cap_s: float | None = None
    backoff_jitter: bool = False
    keep_results: bool = True
    keep_succeeded: timedelta = timedelta(days=7)
    concurrency: int = 10
    execution_timeout_s: float = 600.0


def canonical_queue_name(queue: str) -> str:
    """Return the queue's name without the old service's "-queue" suffix."""
    return queue.removesuffix("-queue")


def may_retry(
    policy: QueuePolicy, *, attempts_before: int, job_limit: int | None = None
) -> bool:
    """Return True when the attempt that just failed was not the last one.

    `attempts_before` counts the attempts before the one that failed, so the
    failed attempt is number `attempts_before + 1` of the limit: the job's own
    (`job_limit`, set at enqueue) or else the queue's `max_attempts`.
    """
    return attempts_before + 1 < (job_limit or policy.max_attempts)


def retry_delay_s(
    policy: QueuePolicy, *, attempts_before: int, rng: random.Random | None = None
) -> float:
    """Return how long to wait before the next attempt, in seconds.

    Exponential: base * factor^(attempt - 1), capped; with jitter the wait is
    drawn uniformly from the upper half of that ("equal jitter"), so retries of
    many jobs that failed together spread out but never come back sooner than
    half the nominal delay. Fixed: base, with the same optional jitter.
    """
    if policy.backoff == "exponential":
        delay = policy.backoff_base_s * policy.backoff_factor**attempts_before
    else:
        delay = policy.backoff_base_s
    if policy.backoff_cap_s is not None:
        delay = min(delay, policy.backoff_cap_s)
    if policy.backoff_jitter:
        delay = delay / 2 + (rng or random).uniform(0, delay / 2)
    return delay
