"""`python -m bench drain`: how fast workers empty a queue, and how soon a job starts.

In a scratch database beside the configured one, with a `bench` queue of
concurrency 10 and a no-op task:
- drain: a backlog of 20,000 jobs is enqueued, then the workers start; the
  time is from the first job's start to the last job's finish, both read from
  procrastinate's events table (so process start-up counts for no one); our
  workers (1 and 2 processes) and raw procrastinate (its default connector,
  1 and 2 processes) drain the same backlog;
- latency: 300 jobs are enqueued one at a time, 20 ms apart, each carrying
  its send time; the task records when it started; p50/p95/p99 of the wait.
Raw procrastinate runs its own worker loop on the same task.
"""

import asyncio
import logging
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg
from psycopg.types.json import Jsonb

from app.services.enqueue import enqueue
from bench import drain_tasks
from bench.processes import child_env
from bench.scratch_db import scratch_database
from workers.runtime import WorkerConfig, run_worker_process

CONCURRENCY = 10
LATENCY_JOBS = 300
LATENCY_GAP_S = 0.02
# Our worker processes load the no-op task by name (WORKER_EXTRA_TASK_MODULES);
# `child_env` puts this package on their path.
TASK_MODULE = drain_tasks.__name__

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainFigure:
    """One drain run."""

    name: str
    jobs: int
    seconds: float

    @property
    def rate(self) -> float:
        """Return jobs per second."""
        return self.jobs / self.seconds


def prepare(dsn: str) -> None:
    """Add the bench queue and its job type to the scratch database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO queue.queues (name, tier, max_attempts, backoff, backoff_base_s, keep_succeeded,
                                      keep_failed, keep_results, concurrency, alert_max_waiting,
                                      alert_max_oldest_age, alert_max_failed_per_hour)
            VALUES ('bench', 'ephemeral', 1, 'fixed', 1, '1 day', '1 day', false, %s, 1000000, '1 day', 1000000)
            """,
            (CONCURRENCY,),
        )
        conn.execute(
            "INSERT INTO queue.job_types (name, queue, default_priority, description) "
            "VALUES ('bench-noop', 'bench', 5, 'no-op job of the benchmark')"
        )


def _reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, queue.job_outcomes CASCADE"
        )
        conn.execute("DELETE FROM procrastinate_workers")
        conn.execute(
            "VACUUM ANALYZE procrastinate_jobs, procrastinate_events, queue.job_outcomes"
        )


def _wait_for_workers(dsn: str, count: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (registered,) = conn.execute(
                "SELECT count(*) FROM procrastinate_workers"
            ).fetchone() or (0,)
            if registered >= count:
                time.sleep(0.5)  # their LISTEN connections open right after registering
                return
            time.sleep(0.05)
    raise RuntimeError(f"{count} worker(s) did not start within {timeout_s}s")


def _enqueue_backlog(dsn: str, jobs: int) -> None:
    batch = [{"queue": "bench", "job_type": "bench-noop", "data": {}}] * jobs
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM queue.enqueue_many(%s)", (Jsonb(batch),))
        conn.execute("VACUUM ANALYZE procrastinate_jobs")


def _wait_until_drained(dsn: str, timeout_s: float = 900) -> float:
    """Wait for the bench queue to empty; return seconds from the first start to the last finish.

    Both ends come from procrastinate's own events (written by its triggers for
    every worker alike), so process start-up is not counted for anyone.
    """
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (left,) = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'bench' AND status IN ('todo', 'doing')"
            ).fetchone() or (0,)
            if left == 0:
                (seconds,) = conn.execute(
                    "SELECT extract(epoch FROM max(at) FILTER (WHERE type IN ('succeeded', 'failed'))"
                    " - min(at) FILTER (WHERE type = 'started'))::float8 FROM procrastinate_events"
                ).fetchone() or (0.0,)
                return float(seconds)
            time.sleep(0.1)
    raise RuntimeError(f"the bench queue did not drain within {timeout_s}s")


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Our own interpreter running our own module: no outside input.
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", *args],
        env=child_env(env),
        stdout=subprocess.DEVNULL,
    )


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        child.wait(timeout=60)


def drain_ours(dsn: str, *, processes: int, jobs: int) -> float:
    """Drain with `processes` of our worker processes (bench queue only)."""
    _reset(dsn)
    env = {
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "dev",
        "LOG_LEVEL": "WARNING",
        "WORKER_METRICS_PORT": "0",
        "WORKER_EXTRA_TASK_MODULES": TASK_MODULE,
    }
    _enqueue_backlog(dsn, jobs)
    children = [
        _spawn(["app.cli", "worker", "--queues", "bench"], env)
        for _ in range(processes)
    ]
    try:
        return _wait_until_drained(dsn)
    finally:
        _stop(children)


def drain_raw(dsn: str, *, processes: int, jobs: int) -> float:
    """Drain with `processes` raw procrastinate workers (default connector)."""
    _reset(dsn)
    _enqueue_backlog(dsn, jobs)
    children = [
        _spawn(["bench.drain", "raw-worker", dsn], {}) for _ in range(processes)
    ]
    try:
        return _wait_until_drained(dsn)
    finally:
        _stop(children)


def raw_app(dsn: str) -> procrastinate.App:
    """Return raw procrastinate as a plain user would run it, with the no-op task."""
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    app.task(
        name=drain_tasks.BENCH_TASK, queue=drain_tasks.BENCH_QUEUE, pass_context=True
    )(drain_tasks.bench_noop)
    return app


async def run_raw_worker(dsn: str) -> None:
    """One raw procrastinate worker on the bench queue, until SIGTERM."""
    app = raw_app(dsn)
    async with app.open_async():
        await app.run_worker_async(
            queues=[drain_tasks.BENCH_QUEUE], concurrency=CONCURRENCY
        )


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


async def _latency(
    run_worker: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    send: Callable[[float], Coroutine[Any, Any, None]],
    dsn: str,
) -> tuple[float, float, float]:
    _reset(dsn)
    drain_tasks.STARTED_AFTER_S.clear()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(stop))
    await asyncio.to_thread(_wait_for_workers, dsn, 1)
    for _ in range(LATENCY_JOBS):
        await send(time.time())
        await asyncio.sleep(LATENCY_GAP_S)
    for _ in range(600):  # at most 30 s for the last jobs to start
        if len(drain_tasks.STARTED_AFTER_S) >= LATENCY_JOBS:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await worker
    return _percentiles(list(drain_tasks.STARTED_AFTER_S))


async def latency_ours(dsn: str) -> tuple[float, float, float]:
    """Enqueue→start latency of our worker (1 process, in this one)."""
    config = WorkerConfig(dsn=dsn, queues=["bench"], extra_task_modules=(TASK_MODULE,))
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:

        async def send(at: float) -> None:
            await enqueue(
                conn, queue="bench", job_type="bench-noop", data={"sent_at": at}
            )

        async def work(stop: asyncio.Event) -> None:
            await run_worker_process(config, stop=stop)

        return await _latency(work, send, dsn)


async def latency_raw(dsn: str) -> tuple[float, float, float]:
    """Enqueue→start latency of raw procrastinate (1 process, in this one)."""
    app = raw_app(dsn)
    async with app.open_async():
        deferrer = app.configure_task(
            drain_tasks.BENCH_TASK, queue=drain_tasks.BENCH_QUEUE
        )

        async def send(at: float) -> None:
            await deferrer.defer_async(data={"sent_at": at})

        async def work(stop: asyncio.Event) -> None:
            runner = asyncio.create_task(
                app.run_worker_async(
                    queues=[drain_tasks.BENCH_QUEUE],
                    concurrency=CONCURRENCY,
                    install_signal_handlers=False,
                )
            )
            await stop.wait()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

        return await _latency(work, send, dsn)


def run_drain_bench(dsn: str, *, jobs: int) -> None:
    """Run the drain and latency benchmarks in a scratch database and print the tables."""
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    with scratch_database(dsn) as scratch:
        prepare(scratch)
        drains = [
            DrainFigure(
                "raw procrastinate, 1 process",
                jobs,
                drain_raw(scratch, processes=1, jobs=jobs),
            ),
            DrainFigure(
                "raw procrastinate, 2 processes",
                jobs,
                drain_raw(scratch, processes=2, jobs=jobs),
            ),
            DrainFigure(
                "queue-service worker, 1 process",
                jobs,
                drain_ours(scratch, processes=1, jobs=jobs),
            ),
            DrainFigure(
                "queue-service worker, 2 processes",
                jobs,
                drain_ours(scratch, processes=2, jobs=jobs),
            ),
        ]
        raw_latency = asyncio.run(latency_raw(scratch))
        our_latency = asyncio.run(latency_ours(scratch))
    best_raw = max(d.rate for d in drains if d.name.startswith("raw"))
    best_ours = max(d.rate for d in drains if not d.name.startswith("raw"))
    print(
        f"drain benchmark: {jobs:,} no-op jobs, concurrency {CONCURRENCY} per process, "
        "first start to last finish"
    )
    print(f"{'workers':<36} {'seconds':>8} {'jobs/s':>9}")
    for drain in drains:
        print(f"{drain.name:<36} {drain.seconds:>8.2f} {drain.rate:>9,.0f}")
    print(f"best of ours / best of raw: {best_ours / best_raw:.2f}x")
    print(
        f"\nenqueue→start latency over {LATENCY_JOBS} jobs sent {LATENCY_GAP_S * 1000:.0f} ms apart (ms)"
    )
    print(f"{'':<36} {'p50':>7} {'p95':>7} {'p99':>7}")
    for name, (p50, p95, p99) in (
        ("raw procrastinate", raw_latency),
        ("queue-service worker", our_latency),
    ):
        print(f"{name:<36} {p50:>7.1f} {p95:>7.1f} {p99:>7.1f}")


if __name__ == "__main__":
    # `python -m bench.drain raw-worker DSN`: one raw procrastinate worker,
    # started by `drain_raw`; the benchmark itself is `python -m bench drain`.
    if sys.argv[1:2] != ["raw-worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m bench.drain raw-worker DSN")
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run_raw_worker(sys.argv[2]))
