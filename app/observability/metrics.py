"""Every metric of the service, declared once with its help text.

The old service's metrics (design §8) keep their names, types and label names,
so its dashboards keep working: the gauges `queue_depth`,
`oldest_job_age_seconds` and `failed_jobs_total`, which the API reads from the
database at scrape time, and the counters `job_results_total` (with the old
`success` and `failure` results), `job_processing_duration_seconds` and
`alerts_sent_total`, counted by the process that did the work.
docs/monitoring.md says what each is computed from. Labels never carry ids
or messages.

Every other metric of the service is named `queue_service_...` (`PREFIX`), the
HTTP ones of Litestar's middleware too (`HTTP_PREFIX`), so none can be taken for
an old service's series or another exporter's in a shared Prometheus.
"""

from collections.abc import Iterable
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

__all__ = ["CONTENT_TYPE_LATEST", "exposition"]

# The old service's metric names (design §8), kept as they were; every other
# metric of ours starts with PREFIX (tests/unit/test_metric_names.py).
OLD_NAMES = frozenset(
    {
        "queue_depth",
        "oldest_job_age_seconds",
        "failed_jobs_total",
        "job_results_total",
        "job_processing_duration_seconds",
        "alerts_sent_total",
    }
)
PREFIX = "queue_service_"
# The prefix of Litestar's PrometheusConfig (app/api/app.py): its metrics are
# queue_service_http_requests_total, ..._request_duration_seconds, ...
HTTP_PREFIX = PREFIX + "http"

# The old service counted every attempt as one of two results (Bull's
# `completed` and `failed` events: an attempt that fails and is retried is a
# failure too), and its dashboards select on them.
OLD_RESULTS = {"succeeded": "success", "deduplicated": "success", "failed": "failure"}
# The old service's duration buckets, kept among finer and longer ones so its
# dashboards find the same bounds.
OLD_DURATION_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60)


class JobResultsCounter(Counter):
    """A counter of attempts by result that also reports the old service's results.

    `success` and `failure` are summed from the same children when the metric
    is collected, so they never drift from the results they are made of; a sum
    over every result counts those attempts twice, so select the results you sum.
    """

    def collect(self) -> Iterable[Metric]:
        """Return the family with the old results appended to its samples."""
        families = list(super().collect())
        for family in families:
            total = family.name + "_total"
            sums: dict[tuple[str, str, str], float] = {}
            for sample in family.samples:
                old = OLD_RESULTS.get(sample.labels.get("result", ""))
                if old is not None and sample.name == total:
                    key = (sample.labels["queue_name"], sample.labels["job_type"], old)
                    sums[key] = sums.get(key, 0.0) + sample.value
            for (queue, job_type, result), value in sorted(sums.items()):
                labels = {"queue_name": queue, "job_type": job_type, "result": result}
                family.add_sample(total, labels, value)
        return families


JOB_RESULTS = JobResultsCounter(
    "job_results_total",
    "Attempts that ended, by queue, job type and result (succeeded, failed, "
    "interrupted, aborted, rate_limited, deduplicated; and the old service's "
    "success = succeeded + deduplicated, failure = every failed attempt).",
    ["queue_name", "job_type", "result"],
)
JOB_DURATION = Histogram(
    "job_processing_duration_seconds",
    "Time a job's task body ran, per attempt.",
    ["queue_name", "job_type"],
    buckets=sorted(
        {0.005, 0.01, 0.025, 0.05, 0.25, 2.5, 120, 300, *OLD_DURATION_BUCKETS}
    ),
)
JOB_RETRIES = Counter(
    "queue_service_job_retries_total",
    "Attempts that failed and were scheduled for another attempt.",
    ["queue_name", "job_type"],
)
# Not `failed_jobs_total`: that is the old service's gauge (FAILED_JOBS_KEPT),
# and one name cannot be a counter on the workers and a gauge on the API.
FAILED_JOBS = Counter(
    "queue_service_jobs_dead_lettered_total",
    "Jobs that failed for good (dead-lettered), by queue, counted by the worker that failed them.",
    ["queue_name"],
)
JOBS_RESCUED = Counter(
    "queue_service_jobs_rescued_total",
    "Running jobs of silent workers handled by the rescue, by queue and outcome "
    "(rescued, failed, cancelled).",
    ["queue_name", "outcome"],
)
JOBS_CLAIMED = Counter(
    "queue_service_worker_jobs_claimed_total",
    "Jobs claimed by this worker process, by queue.",
    ["queue_name"],
)
COMPLETION_BATCH = Histogram(
    "queue_service_worker_completion_batch_size",
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
QUEUE_PAUSED = Gauge(
    "queue_service_queue_paused", "1 when the queue is paused.", ["queue_name"]
)
# A gauge named like a counter, as the old service named it: its dashboards
# read that name, so promtool's one naming finding on the API is expected.
FAILED_JOBS_KEPT = Gauge(
    "failed_jobs_total",
    "Jobs failed for good and still kept (queue.failures), per queue, read from "
    "the database at scrape time (the old service's gauge and name).",
    ["queue_name"],
)

ENQUEUED_JOBS = Counter(
    "queue_service_enqueued_jobs_total",
    "Jobs enqueued through this process (HTTP and Python; enqueues by other "
    "services' SQL are counted by queue_depth only), by queue and job type.",
    ["queue_name", "job_type"],
)
WORKERS_ALIVE = Gauge(
    "queue_service_workers_alive",
    "Workers with a fresh heartbeat serving the queue, read from the database at scrape time.",
    ["queue_name"],
)
STALLED_JOBS = Gauge(
    "queue_service_stalled_jobs",
    "Running jobs whose worker stopped heartbeating (the rescue returns them), read at scrape time.",
)
DB_DEAD_TUPLES = Gauge(
    "queue_service_db_dead_tuples",
    "Dead tuples of a hot table, from pg_stat_user_tables at scrape time.",
    ["table"],
)
DB_LAST_AUTOVACUUM_AGE = Gauge(
    "queue_service_db_last_autovacuum_age_seconds",
    "Seconds since a hot table was last vacuumed (auto or manual); -1 when never.",
    ["table"],
)
DB_OLDEST_TRANSACTION_AGE = Gauge(
    "queue_service_db_oldest_transaction_age_seconds",
    "Age of the oldest open transaction of the database (it holds back vacuum).",
)
ALERTS_SENT = Counter(
    "alerts_sent_total",
    "Alerts sent, by severity, type and channel (log, sms, voice).",
    ["severity", "type", "channel"],
)
PROVIDER_CALLS = Counter(
    "queue_service_provider_calls_total",
    "Provider calls by provider and result (succeeded, rejected, unavailable, "
    "rate_limited, not_sent; recorded: answered from the side-effect ledger, not sent).",
    ["provider", "result"],
)
PROVIDER_CALL_DURATION = Histogram(
    "queue_service_provider_call_duration_seconds",
    "Time a successful provider call took.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
BREAKER_STATE = Gauge(
    "queue_service_circuit_breaker_state",
    "A provider's circuit breaker as this process last saw it: 0 closed, 1 half-open, 2 open.",
    ["provider"],
)
RATE_LIMIT_TOKENS = Gauge(
    "queue_service_rate_limit_tokens",
    "Tokens left in a provider bucket after this process's last call.",
    ["bucket"],
)
RATE_LIMIT_WAITS = Counter(
    "queue_service_rate_limit_waits_total",
    "Provider calls that had to wait, by bucket and reason "
    "(tokens, concurrency, held, stopped, breaker_open).",
    ["bucket", "reason"],
)


class QueueHealth(Protocol):
    """What the queue and worker gauges read: a queue of the scrape's one read."""

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
    @property
    def failed_jobs(self) -> int: ...


class DatabaseHealth(Protocol):
    """The database's health, as queue.database_health reads it."""

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
        FAILED_JOBS_KEPT.labels(queue).set(row.failed_jobs)
    STALLED_JOBS.set(database.stalled_jobs)
    DB_DEAD_TUPLES.labels(HOT_TABLE).set(database.dead_tuples)
    vacuum_age = database.last_vacuum_age_s
    DB_LAST_AUTOVACUUM_AGE.labels(HOT_TABLE).set(
        -1 if vacuum_age is None else vacuum_age
    )
    DB_OLDEST_TRANSACTION_AGE.set(database.oldest_transaction_age_s or 0)


def exposition(registry: Collector = REGISTRY) -> bytes:
    """Return every metric of `registry` (this process's) in Prometheus's text format."""
    return generate_latest(registry)
