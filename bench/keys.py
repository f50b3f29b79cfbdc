"""`python -m bench keys`: a per-key limit with fair sharing, drained by the real worker.

In one scratch database, on the `bench` queue (`bench.drain.prepare`), the
no-op task, our worker processes as shipped (`python -m app.cli worker
--queues bench`, `--processes` of them, the queue's concurrency as prepared):
1. the plain drain of 10,000 jobs without keys (queue.queues.key_concurrency
   NULL, the claim as it always was), for comparison;
2. the keyed drain: key_concurrency = `--limit`, one burst key of 9,000 jobs
   enqueued first, then 100 keys of 10 jobs each.
Both are timed by `bench.drain_run.timed_drain` (the backlog held under
another queue name until the workers are up, one NOTIFY, polled until empty)
with worker and Postgres CPU read at both ends.

The keyed drain also reports what the limit and the sharing did:
- the most jobs of one key running at once: sampled (`doing`, claimed jobs
  not yet started included) every 20 ms while it drains, the sampler's own
  Postgres CPU taken off the drain's, and exact from the recorded start and
  finish of every attempt;
- when the small keys' jobs finished, p50/p99/max in seconds after the first
  job started, against the burst key's p50 and last. Without the round-robin
  the small keys, enqueued after the burst, would finish after it.
"""

import statistics
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from bench.drain import TASK_MODULE, prepare
from bench.drain_measure import CLOCK_TICKS_PER_S, PROC, parse_stat
from bench.drain_report import drain_row
from bench.drain_run import (
    ENQUEUE_CHUNK,
    NOOP,
    DrainRun,
    concurrency_of,
    enqueue_held,
    reset,
    timed_drain,
)
from bench.processes import spawn_module, stop_children
from bench.scratch_db import scratch_database

BURST_KEY = "burst"
SAMPLE_EVERY_S = 0.02
WARM_UP_JOBS = 1_000


@dataclass(frozen=True)
class KeysOptions:
    """What `python -m bench keys` was asked to run."""

    limit: int = 4
    processes: int = 2
    burst_jobs: int = 9_000
    small_keys: int = 100
    small_jobs: int = 10

    @property
    def jobs(self) -> int:
        """Return the keyed backlog's size."""
        return self.burst_jobs + self.small_keys * self.small_jobs


@dataclass(frozen=True)
class Fairness:
    """When the keyed drain's jobs finished, in seconds after its first start."""

    small_p50_s: float
    small_p99_s: float
    small_max_s: float
    burst_p50_s: float
    burst_max_s: float


@dataclass(frozen=True)
class KeyedRun:
    """The keyed drain: its figures and what the limit let run at once."""

    run: DrainRun
    most_doing_sampled: int
    samples: int
    most_running_recorded: int
    fairness: Fairness


def _set_limit(dsn: str, limit: int | None) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE queue.queues SET key_concurrency = %s WHERE name = %s",
            (limit, NOOP.queue),
        )


def enqueue_keyed_held(dsn: str, options: KeysOptions) -> None:
    """Enqueue the burst key's jobs, then each small key's, held like `enqueue_held`'s."""
    keys = [BURST_KEY] * options.burst_jobs + [
        f"small:{n}"
        for n in range(options.small_keys)
        for _ in range(options.small_jobs)
    ]
    jobs = [
        {
            "queue": NOOP.queue,
            "job_type": NOOP.job_type,
            "data": {},
            "concurrency_key": key,
        }
        for key in keys
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, len(jobs), ENQUEUE_CHUNK):
            with conn.transaction():
                conn.execute(
                    "SELECT count(*) FROM queue.enqueue_many(%s)",
                    (Jsonb(jobs[start : start + ENQUEUE_CHUNK]),),
                )
                conn.execute(
                    "UPDATE procrastinate_jobs SET queue_name = %s WHERE queue_name = %s",
                    (NOOP.held, NOOP.queue),
                )


class RunningSampler:
    """Sample, in a thread, the most `doing` jobs of one key of the bench queue.

    Its backend is a Postgres process like the workers' and its CPU would
    count in the drain's: `cpu_s` is that backend's, to take off.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self.most = 0
        self.samples = 0
        self.cpu_s = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="running", daemon=True)

    def _run(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            pid_row = conn.execute("SELECT pg_backend_pid()").fetchone()
            stat = PROC / str(pid_row[0] if pid_row else 0) / "stat"
            ticks = parse_stat(stat.read_text()).ticks
            while not self._stop.wait(SAMPLE_EVERY_S):
                row = conn.execute(
                    "SELECT coalesce(max(doing), 0) FROM ("
                    " SELECT count(*) AS doing FROM procrastinate_jobs"
                    " WHERE queue_name = %s AND status = 'doing'"
                    " AND (args -> 'meta' ->> 'concurrency_key') IS NOT NULL"
                    " GROUP BY args -> 'meta' ->> 'concurrency_key') AS per_key",
                    (NOOP.queue,),
                ).fetchone()
                self.most = max(self.most, int(row[0]) if row else 0)
                self.samples += 1
            ticks = parse_stat(stat.read_text()).ticks - ticks
        self.cpu_s = ticks / CLOCK_TICKS_PER_S

    def __enter__(self) -> "RunningSampler":
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _drain(dsn: str, options: KeysOptions) -> DrainRun:
    """Start the worker processes and time them draining the held backlog."""
    env = {
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "dev",
        "LOG_LEVEL": "WARNING",
        "WORKER_METRICS_PORT": "0",
        "WORKER_EXTRA_TASK_MODULES": TASK_MODULE,
    }
    args = ["app.cli", "worker", "--queues", NOOP.queue]
    children = [spawn_module(args, env) for _ in range(options.processes)]
    try:
        return timed_drain(dsn, NOOP, children)
    finally:
        stop_children(children)


def drain_plain(dsn: str, options: KeysOptions, jobs: int) -> DrainRun:
    """Drain `jobs` no-op jobs without keys, the queue without a key limit."""
    reset(dsn)
    _set_limit(dsn, None)
    enqueue_held(dsn, NOOP, jobs)
    return _drain(dsn, options)


def _seconds(values: Sequence[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def _finishes(conn: psycopg.Connection[Any]) -> tuple[list[float], list[float]]:
    """Return the small keys' and the burst key's finish times after the first start."""
    rows = conn.execute(
        "WITH runs AS ("
        " SELECT j.args -> 'meta' ->> 'concurrency_key' AS key, o.started_at, o.finished_at"
        " FROM queue.job_outcomes AS o JOIN procrastinate_jobs AS j ON j.id = o.job_id"
        " WHERE o.queue_name = %s AND o.status = 'succeeded')"
        " SELECT key = %s, extract(epoch FROM finished_at - (SELECT min(started_at) FROM runs))"
        " FROM runs",
        (NOOP.queue, BURST_KEY),
    ).fetchall()
    small = [float(at) for burst, at in rows if not burst]
    burst = [float(at) for burst, at in rows if burst]
    return small, burst


def _most_running_recorded(conn: psycopg.Connection[Any]) -> int:
    """Return the most attempts of one key between their start and finish at one instant."""
    row = conn.execute(
        "WITH runs AS ("
        " SELECT j.args -> 'meta' ->> 'concurrency_key' AS key, o.started_at, o.finished_at"
        " FROM queue.job_outcomes AS o JOIN procrastinate_jobs AS j ON j.id = o.job_id"
        " WHERE o.queue_name = %s), edges AS ("
        " SELECT key, started_at AS at, 1 AS step FROM runs"
        " UNION ALL SELECT key, finished_at, -1 FROM runs)"
        # An attempt that finished when another started did not run beside it.
        " SELECT coalesce(max(open_now), 0) FROM ("
        "  SELECT sum(step) OVER (PARTITION BY key ORDER BY at, step"
        "   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS open_now FROM edges) AS s",
        (NOOP.queue,),
    ).fetchone()
    return int(row[0]) if row else 0


def drain_keyed(dsn: str, options: KeysOptions) -> KeyedRun:
    """Drain the burst key and the small keys under the limit; measure the sharing."""
    reset(dsn)
    _set_limit(dsn, options.limit)
    enqueue_keyed_held(dsn, options)
    with RunningSampler(dsn) as sampler:
        run = _drain(dsn, options)
    # It sampled a little longer than the timed window: what it used before
    # the clock started (a few seconds of worker start-up, at about 1% of a
    # core) is taken off too, well under a microsecond per job.
    run = replace(run, postgres_cpu_s=max(0.0, run.postgres_cpu_s - sampler.cpu_s))
    with psycopg.connect(dsn, autocommit=True) as conn:
        small, burst = _finishes(conn)
        most_recorded = _most_running_recorded(conn)
    if len(small) + len(burst) != options.jobs:
        raise RuntimeError(
            f"{len(small) + len(burst)} of {options.jobs} keyed jobs succeeded"
        )
    small_p50, small_p99 = _seconds(small)
    burst_p50, _ = _seconds(burst)
    fairness = Fairness(
        small_p50_s=small_p50,
        small_p99_s=small_p99,
        small_max_s=max(small),
        burst_p50_s=burst_p50,
        burst_max_s=max(burst),
    )
    return KeyedRun(run, sampler.most, sampler.samples, most_recorded, fairness)


def print_report(
    options: KeysOptions, concurrency: int, plain: DrainRun, keyed: KeyedRun
) -> None:
    """Print both drains, the most running per key and the finish times."""
    setting = f"{options.processes} x {concurrency}"
    print(
        f"keys: {options.jobs:,} no-op jobs each, our workers at shipped defaults "
        f"({setting}); timed from one wake-up NOTIFY until "
        "none is todo or doing; CPU in ms per job"
    )
    print(
        f"{'kind':<16} {'workers':<46} {'seconds':>8} {'jobs/s':>9}"
        f" {'worker':>9} {'postgres':>9} {'total':>9}"
    )
    print(drain_row("noop", f"no keys ({setting})", plain))
    print(
        drain_row(
            "noop, keyed",
            f"limit {options.limit} per key ({setting})",
            keyed.run,
        )
    )
    print(
        f"keyed / plain: {keyed.run.rate / plain.rate:.2f}x jobs/s, "
        f"{keyed.run.worker_ms_per_job / plain.worker_ms_per_job:.2f}x worker CPU per job"
    )
    print(
        f"\nmost jobs of one key at once (limit {options.limit}): "
        f"{keyed.most_doing_sampled} doing, sampled {keyed.samples:,} times; "
        f"{keyed.most_running_recorded} running, from every attempt's start and finish"
    )
    fair = keyed.fairness
    print(
        f"finished, seconds after the first job started: "
        f"{options.small_keys} small keys x {options.small_jobs} jobs "
        f"p50 {fair.small_p50_s:.2f} / p99 {fair.small_p99_s:.2f} / max {fair.small_max_s:.2f}; "
        f"burst key ({options.burst_jobs:,} jobs, enqueued first) "
        f"p50 {fair.burst_p50_s:.2f} / last {fair.burst_max_s:.2f}"
    )


def run_keys_bench(dsn: str, options: KeysOptions) -> None:
    """Run the plain and the keyed drain in one scratch database and print them."""
    with scratch_database(dsn) as scratch:
        prepare(scratch)
        concurrency = concurrency_of(scratch, NOOP.queue)
        # A short drain first, not reported: the first one after the
        # database is made pays for its caches, whichever it is.
        drain_plain(scratch, options, WARM_UP_JOBS)
        plain = drain_plain(scratch, options, options.jobs)
        keyed = drain_keyed(scratch, options)
    print_report(options, concurrency, plain, keyed)
