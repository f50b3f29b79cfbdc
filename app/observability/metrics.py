"""Every metric of the service, declared once with its help text.

Names keep the old service's (design §8) so its dashboards keep working; labels
never carry ids or messages.
"""

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

JOB_RESULTS = Counter(
    "job_results_total",
    "Attempts that ended, by queue, job type and result "
    "(succeeded, failed, retried, aborted, interrupted, deduplicated).",
    ["queue_name", "job_type", "result"],
)
JOB_DURATION = Histogram(
    "job_processing_duration_seconds",
    "Time a job's task body ran, per attempt.",
    ["queue_name", "job_type"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
JOB_RETRIES = Counter(
    "job_retries_total",
    "Attempts that failed and were scheduled for another attempt.",
    ["queue_name", "job_type"],
)
FAILED_JOBS = Counter(
    "failed_jobs_total",
    "Jobs that failed for good (dead-lettered), by queue.",
    ["queue_name"],
)
JOBS_RESCUED = Counter(
    "jobs_rescued_total",
    "Running jobs of silent workers handled by the rescue, by queue and outcome "
    "(rescued, failed, cancelled).",
    ["queue_name", "outcome"],
)
JOBS_CLAIMED = Counter(
    "worker_jobs_claimed_total",
    "Jobs claimed by this worker process, by queue.",
    ["queue_name"],
)
COMPLETION_BATCH = Histogram(
    "worker_completion_batch_size",
    "Attempts completed per database statement.",
    buckets=(1, 2, 5, 10, 20, 50, 100),
)

QUEUE_DEPTH = Gauge(
    "queue_depth",
    "Jobs per queue and status (waiting, delayed, active), read from the database at scrape time.",
    ["queue_name", "status"],
)
OLDEST_JOB_AGE = Gauge(
    "oldest_job_age_seconds",
    "Age of the oldest due waiting job per queue (0 when none waits).",
    ["queue_name"],
)
QUEUE_PAUSED = Gauge("queue_paused", "1 when the queue is paused.", ["queue_name"])

ENQUEUED_JOBS = Counter(
    "enqueued_jobs_total",
    "Jobs enqueued through this process (HTTP and Python; enqueues by other "
    "services' SQL are counted by queue_depth only), by queue and job type.",
    ["queue_name", "job_type"],
)
WORKERS_ALIVE = Gauge(
    "workers_alive",
    "Workers with a fresh heartbeat serving the queue, read from the database at scrape time.",
    ["queue_name"],
)
STALLED_JOBS = Gauge(
    "stalled_jobs",
    "Running jobs whose worker stopped heartbeating (the rescue returns them), read at scrape time.",
)
DB_DEAD_TUPLES = Gauge(
    "db_dead_tuples",
    "Dead tuples of a hot table, from pg_stat_user_tables at scrape time.",
    ["table"],
)
DB_LAST_AUTOVACUUM_AGE = Gauge(
    "db_last_autovacuum_age_seconds",
    "Seconds since a hot table was last vacuumed (auto or manual); -1 when never.",
    ["table"],
)
DB_OLDEST_TRANSACTION_AGE = Gauge(
    "db_oldest_transaction_age_seconds",
    "Age of the oldest open transaction of the database (it holds back vacuum).",
)
ALERTS_SENT = Counter(
    "alerts_sent_total",
    "Alerts sent, by severity, type and channel (log, sms, voice).",
    ["severity", "type", "channel"],
)
PROVIDER_CALLS = Counter(
    "provider_calls_total",
    "Provider calls by provider and result (succeeded, rejected, unavailable, "
    "rate_limited, not_sent; recorded: answered from the side-effect ledger, not sent).",
    ["provider", "result"],
)
PROVIDER_CALL_DURATION = Histogram(
    "provider_call_duration_seconds",
    "Time a successful provider call took.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BREAKER_STATE = Gauge(
    "circuit_breaker_state",
    "A provider's circuit breaker as this process last saw it: 0 closed, 1 half-open, 2 open.",
    ["provider"],
)
RATE_LIMIT_TOKENS = Gauge(
    "rate_limit_tokens",
    "Tokens left in a provider bucket after this process's last call.",
    ["bucket"],
)
RATE_LIMIT_WAITS = Counter(
    "rate_limit_waits_total",
    "Provider calls that had to wait, by bucket and reason "
    "(tokens, concurrency, held, stopped, breaker_open).",
    ["bucket", "reason"],
)


class QueueHealth(Protocol):
    """What the queue and worker gauges read: a row of queue.queue_health."""

    @property
    def queue_name(self) -> str: ...
    @property
    def waiting(self) -> int: ...
    @property
    def scheduled(self) -> int: ...
    @property
    def running(self) -> int: ...
    @property
    def paused(self) -> bool: ...
    @property
    def oldest_waiting_age_s(self) -> float | None: ...
    @property
    def workers_alive(self) -> int: ...


class DatabaseHealth(Protocol):
    """A row of queue.database_health."""

    @property
    def dead_tuples(self) -> int: ...
    @property
    def last_vacuum_age_s(self) -> float | None: ...
    @property
    def oldest_transaction_age_s(self) -> float | None: ...
    @property
    def stalled_jobs(self) -> int: ...


HOT_TABLE = "procrastinate_jobs"


def observe_health(queues: Iterable[QueueHealth], database: DatabaseHealth) -> None:
    """Set the queue, worker and database gauges from one reading."""
    for row in queues:
        queue = row.queue_name
        QUEUE_DEPTH.labels(queue, "waiting").set(row.waiting)
        QUEUE_DEPTH.labels(queue, "delayed").set(row.scheduled)
        QUEUE_DEPTH.labels(queue, "active").set(row.running)
        OLDEST_JOB_AGE.labels(queue).set(row.oldest_waiting_age_s or 0)
        QUEUE_PAUSED.labels(queue).set(1 if row.paused else 0)
        WORKERS_ALIVE.labels(queue).set(row.workers_alive)
    STALLED_JOBS.set(database.stalled_jobs)
    DB_DEAD_TUPLES.labels(HOT_TABLE).set(database.dead_tuples)
    vacuum_age = database.last_vacuum_age_s
    DB_LAST_AUTOVACUUM_AGE.labels(HOT_TABLE).set(
        -1 if vacuum_age is None else vacuum_age
    )
    DB_OLDEST_TRANSACTION_AGE.set(database.oldest_transaction_age_s or 0)


def exposition() -> bytes:
    """Return every metric of this process in Prometheus's text format."""
    return generate_latest()
