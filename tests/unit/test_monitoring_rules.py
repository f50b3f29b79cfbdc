from dataclasses import dataclass, replace

from app.domain.monitoring import DatabaseThresholds, breaches, queue_breaches


@dataclass(frozen=True)
class Queue:
    queue_name: str = "money"
    paused: bool = False
    alert_severity: str = "critical"
    waiting: int = 0
    failed_last_hour: int = 0
    oldest_waiting_age_s: float | None = None
    alert_max_waiting: int = 50
    alert_max_oldest_age_s: float = 600
    alert_max_failed_per_hour: int = 10
    workers_alive: int = 1


@dataclass(frozen=True)
class Database:
    dead_tuples: int = 0
    last_vacuum_age_s: float | None = None
    oldest_transaction_age_s: float | None = None
    stalled_jobs: int = 0


LIMITS = DatabaseThresholds(max_dead_tuples=1000, max_transaction_age_s=300)


def kinds(found):
    return [(b.severity, b.type, b.queue) for b in found]


def test_queue_breaches_quiet_queue_raises_nothing():
    assert queue_breaches(Queue(waiting=50, oldest_waiting_age_s=600)) == []


def test_queue_breaches_each_threshold_with_the_queues_severity():
    queue = Queue(
        alert_severity="warning",
        waiting=51,
        oldest_waiting_age_s=601,
        failed_last_hour=11,
        workers_alive=0,
    )
    found = queue_breaches(queue)
    assert kinds(found) == [
        ("warning", "queue_depth", "money"),
        ("warning", "oldest_job_age", "money"),
        ("warning", "failure_rate", "money"),
        ("warning", "no_workers", "money"),
    ]
    assert (found[0].value, found[0].threshold) == (51, 50)
    assert found[0].message == "51 jobs waiting in money (threshold 50)"


def test_queue_breaches_paused_queue_reports_failures_not_backlog():
    queue = Queue(
        paused=True, waiting=500, oldest_waiting_age_s=9999, failed_last_hour=11
    )
    assert kinds(queue_breaches(queue)) == [("critical", "failure_rate", "money")]


def test_database_breaches_stalled_bloat_and_old_transactions():
    found = breaches(
        [],
        Database(dead_tuples=1001, oldest_transaction_age_s=301, stalled_jobs=2),
        LIMITS,
    )
    assert kinds(found) == [
        ("warning", "stalled_jobs", None),
        ("warning", "table_bloat", None),
        ("warning", "long_transaction", None),
    ]


def test_database_breaches_very_old_transaction_is_critical():
    found = breaches([], Database(oldest_transaction_age_s=1801), LIMITS)
    assert kinds(found) == [("critical", "long_transaction", None)]
    assert kinds(breaches([], Database(oldest_transaction_age_s=1799), LIMITS)) == [
        ("warning", "long_transaction", None)
    ]


def test_breaches_lists_queues_then_database():
    found = breaches(
        [
            Queue(waiting=51),
            replace(Queue(), queue_name="background", alert_severity="info"),
        ],
        Database(stalled_jobs=1),
        LIMITS,
    )
    assert kinds(found) == [
        ("critical", "queue_depth", "money"),
        ("warning", "stalled_jobs", None),
    ]


def test_database_breaches_stale_vacuum_only_with_dead_tuples():
    limits = DatabaseThresholds(
        max_dead_tuples=1000, max_transaction_age_s=300, max_vacuum_age_s=3600
    )
    stale = Database(dead_tuples=101, last_vacuum_age_s=3601)
    assert kinds(breaches([], stale, limits)) == [("warning", "autovacuum_stale", None)]
    assert breaches([], replace(stale, dead_tuples=100), limits) == []
    assert breaches([], replace(stale, last_vacuum_age_s=3599), limits) == []
    assert breaches([], replace(stale, last_vacuum_age_s=None), limits) == []
