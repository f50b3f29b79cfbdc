"""The old counters summed over every process: reports race, fail and resume, and
the old path's exposition is what a scrape of every process would add up to."""

import asyncio

import psycopg
import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.parser import text_string_to_metric_families

from app.db.pool import create_pool
from app.observability.fleet import CounterRises, fleet_families
from app.observability.metrics import exposition
from app.services import fleet_counters

PROCESSES = 6
ROUNDS = 40


def _counters() -> tuple[Counter, Histogram]:
    # A registry of its own: each stands for one process.
    registry = CollectorRegistry()
    results = Counter(
        "job_results_total", "results", ["queue_name", "result"], registry=registry
    )
    duration = Histogram(
        "job_processing_duration_seconds",
        "durations",
        ["queue_name"],
        buckets=(0.1, 1, 10),
        registry=registry,
    )
    return results, duration


def _sums(dsn: str) -> dict[tuple[str, str], float]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT sample, labels::text, value FROM queue.fleet_counters"
        ).fetchall()
    return {(sample, labels): value for sample, labels, value in rows}


@pytest.fixture
async def pool(db_dsn):
    async with create_pool(db_dsn, min_size=1, max_size=PROCESSES) as opened:
        yield opened


async def test_processes_reporting_at_once_lose_and_double_nothing(db_dsn, pool):
    processes = [_counters() for _ in range(PROCESSES)]
    rises = [CounterRises([results, duration]) for results, duration in processes]

    async def process(index: int) -> None:
        results, duration = processes[index]
        for round_ in range(ROUNDS):
            # Every process adds to the same rows, in an order of its own.
            queue = ("money", "communication")[(index + round_) % 2]
            results.labels(queue, "success").inc()
            results.labels(queue, "failure").inc(index)
            duration.labels(queue).observe(0.5 * index)
            await fleet_counters.report(pool, rises[index])
            await asyncio.sleep(0)

    await asyncio.gather(*(process(i) for i in range(PROCESSES)))

    sums = _sums(db_dsn)
    money = '{"result": "success", "queue_name": "money"}'
    communication = '{"result": "success", "queue_name": "communication"}'
    successes = PROCESSES * ROUNDS
    assert sums[("job_results_total", money)] == successes / 2
    assert sums[("job_results_total", communication)] == successes / 2
    failures = sum(v for (s, labels), v in sums.items() if '"failure"' in labels)
    assert failures == ROUNDS * sum(range(PROCESSES))
    counts = sum(v for (sample, _), v in sums.items() if sample.endswith("_count"))
    assert counts == successes
    # Creation timestamps are each process's own; nothing sums them.
    assert not [sample for sample, _ in sums if sample.endswith("_created")]
    # Nothing left to report: a process reports only what rose since.
    assert all(not r.take() for r in rises)


async def test_a_report_the_database_refused_goes_into_the_next(
    db_dsn, pool, admin_dsn
):
    results, duration = _counters()
    rises = CounterRises([results, duration])
    results.labels("money", "success").inc(3)
    # A database without the table: the report fails with the database's error.
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS fleet_counters_missing")
        conn.execute("CREATE DATABASE fleet_counters_missing")
    missing = admin_dsn.rsplit("/", 1)[0] + "/fleet_counters_missing"
    try:
        async with create_pool(missing, min_size=1, max_size=1) as elsewhere:
            with pytest.raises(psycopg.errors.UndefinedTable):
                await fleet_counters.report(elsewhere, rises)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute("DROP DATABASE fleet_counters_missing WITH (FORCE)")
    results.labels("money", "success").inc(2)
    await fleet_counters.report(pool, rises)
    await fleet_counters.report(pool, rises)  # nothing new: adds nothing
    sums = _sums(db_dsn)
    assert (
        sums[("job_results_total", '{"result": "success", "queue_name": "money"}')] == 5
    )


async def test_the_old_path_writes_the_sums_as_valid_families(db_dsn, pool):
    first, second = _counters(), _counters()
    for index, (results, duration) in enumerate((first, second)):
        results.labels("money", "success").inc(index + 1)
        for seconds in (0.05, 0.5, 5, 50):
            duration.labels("money").observe(seconds)
        await fleet_counters.report(pool, CounterRises([results, duration]))

    async with pool.connection() as conn:
        sums = await fleet_counters.fleet_sums(conn)
    text = exposition(_Families(fleet_families(sums, [*first]))).decode()
    parsed = {f.name: f for f in text_string_to_metric_families(text)}

    [success] = parsed["job_results"].samples
    assert (success.labels, success.value) == (
        {"queue_name": "money", "result": "success"},
        3.0,
    )
    histogram = parsed["job_processing_duration_seconds"]
    assert histogram.type == "histogram"
    buckets = [s for s in histogram.samples if s.name.endswith("_bucket")]
    # Rising bounds, each the two processes' sum, +Inf equal to the count.
    assert [(s.labels["le"], s.value) for s in buckets] == [
        ("0.1", 2.0),
        ("1.0", 4.0),
        ("10.0", 6.0),
        ("+Inf", 8.0),
    ]
    [count] = [s for s in histogram.samples if s.name.endswith("_count")]
    assert count.value == 8.0


class _Families:
    def __init__(self, families):
        self._families = families

    def collect(self):
        return iter(self._families)
