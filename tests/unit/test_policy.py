import random
from datetime import UTC, datetime

import pytest
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.jobs import Job

from app.domain.errors import (
    PermanentTaskError,
    ProviderNotConfigured,
    RetryableTaskError,
)
from app.domain.policy import QueuePolicy, may_retry, retry_delay_s
from workers.policy import PolicyCache
from workers.retry import QueuePolicyRetry

MONEY = QueuePolicy("money", 10, "exponential", 2, 2, 3600, True)
COMMUNICATION = QueuePolicy("communication", 3, "fixed", 5)


def test_retry_delay_exponential_doubles_until_the_cap():
    plain = QueuePolicy("q", 20, "exponential", 2, 2, 3600, False)
    assert [retry_delay_s(plain, attempts_before=n) for n in range(4)] == [2, 4, 8, 16]
    assert retry_delay_s(plain, attempts_before=15) == 3600


def test_retry_delay_jitter_stays_in_the_upper_half():
    rng = random.Random(7)  # noqa: S311 - jitter, not secrets
    delays = [retry_delay_s(MONEY, attempts_before=3, rng=rng) for _ in range(500)]
    assert min(delays) >= 8 and max(delays) <= 16
    assert len({round(d, 3) for d in delays}) > 100  # actually spread


def test_retry_delay_fixed_is_the_base():
    assert retry_delay_s(COMMUNICATION, attempts_before=0) == 5
    assert retry_delay_s(COMMUNICATION, attempts_before=2) == 5


def test_may_retry_counts_the_failed_attempt():
    assert may_retry(COMMUNICATION, attempts_before=0)
    assert may_retry(COMMUNICATION, attempts_before=1)
    assert not may_retry(COMMUNICATION, attempts_before=2)


def job(queue: str, attempts: int, job_id: int = 1) -> Job:
    return Job(
        id=job_id,
        queue=queue,
        lock=None,
        queueing_lock=None,
        task_name="t",
        attempts=attempts,
    )


@pytest.fixture
def strategy():
    policies = PolicyCache()
    policies._policies = {"money": MONEY, "communication": COMMUNICATION}
    return QueuePolicyRetry(policies)


def test_strategy_retries_transient_errors_with_the_queue_backoff(strategy):
    before = datetime.now(UTC)
    decision = strategy.get_retry_decision(
        exception=RetryableTaskError("x"), job=job("communication", 1)
    )
    assert decision is not None
    assert 4.9 <= (decision.retry_at - before).total_seconds() <= 5.5


def test_strategy_stops_when_attempts_are_spent(strategy):
    assert (
        strategy.get_retry_decision(
            exception=RuntimeError("x"), job=job("communication", 2)
        )
        is None
    )


@pytest.mark.parametrize(
    "error",
    [
        PermanentTaskError("x"),
        ProviderNotConfigured("x"),
        procrastinate_exceptions.TaskNotFound(),
    ],
)
def test_strategy_never_retries_permanent_errors(strategy, error):
    assert strategy.get_retry_decision(exception=error, job=job("money", 0)) is None


def test_strategy_unknown_queue_gets_one_attempt(strategy):
    assert (
        strategy.get_retry_decision(
            exception=RuntimeError("x"), job=job("elsewhere", 0)
        )
        is None
    )


def test_may_retry_prefers_the_jobs_own_limit():
    assert may_retry(COMMUNICATION, attempts_before=3, job_limit=5)
    assert not may_retry(MONEY, attempts_before=1, job_limit=2)


def test_strategy_reads_the_jobs_own_limit_from_meta(strategy):
    capped = Job(
        id=3,
        queue="money",
        lock=None,
        queueing_lock=None,
        task_name="t",
        attempts=1,
        task_kwargs={"data": {}, "meta": {"max_attempts": 2}},
    )
    assert strategy.get_retry_decision(exception=RuntimeError("x"), job=capped) is None
