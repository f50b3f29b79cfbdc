"""`python -m bench drain`: how fast workers empty a queue, what it costs, how soon a job starts.

All in one scratch database beside the configured one, on one backlog size:
- drains (`bench.drain_run` says how they are timed, without procrastinate's
  events), each with 2 worker processes: ours as shipped
  (`python -m app.cli worker --queues <queue>`, the queue's concurrency as
  the migrations set it: 10 for `bench`, as the default, and for
  `background`), ours with a higher concurrency (`--best-concurrency`, set in
  the queue's queue.queues row before the workers start), raw procrastinate
  (2 x 10, its default connector; `--no-raw` skips it) and, with
  `--graphile DIR`, graphile-worker through the peer harness
  (`bench.drain_peers`). Kinds: `noop` (the `bench-noop` task on the `bench`
  queue) and `analytics-track` (the catalogued type on its own queue, its real
  task body writing queue.analytics_events), for ours only: the peers have no
  such task. Each row gives jobs/s and CPU per job, workers and Postgres apart
  (`bench.drain_measure`); `--runs K` repeats each drain and prints medians;
- `--backlog N`: one more drain of ours at shipped defaults over N jobs, with
  each worker's largest resident memory;
- latency: 300 jobs enqueued one at a time, 20 ms apart, each carrying its
  send time, to one idle worker in this process; the task records when it
  started; p50/p95/p99 of the wait, ours and raw procrastinate.
"""

import asyncio
import logging
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import procrastinate
import psycopg

from app.services.enqueue import enqueue
from bench import drain_peers, drain_report, drain_tasks
from bench.drain_peers import check_harness, drain_graphile
from bench.drain_report import Role, Row
from bench.drain_run import (
    ANALYTICS,
    NOOP,
    DrainRun,
    JobKind,
    concurrency_of,
    enqueue_held,
    median_run,
    reset,
    set_concurrency,
    timed_drain,
    wait_for_workers,
)
from bench.processes import spawn_module, stop_children
from bench.scratch_db import scratch_database
from workers.runtime import WorkerConfig, run_worker_process

PROCESSES = 2
RAW_CONCURRENCY = 10
LATENCY_JOBS = 300
LATENCY_GAP_S = 0.02
# Our worker processes load the no-op task by name (WORKER_EXTRA_TASK_MODULES);
# `child_env` puts this package on their path.
TASK_MODULE = drain_tasks.__name__


@dataclass(frozen=True)
class DrainOptions:
    """What `python -m bench drain` was asked to run."""

    jobs: int = 20_000
    kind: str = "both"
    best_concurrency: int = 50
    raw: bool = True
    graphile: Path | None = None
    backlog: int | None = None
    runs: int = 1

    @property
    def kinds(self) -> list[JobKind]:
        """Return the job kinds our workers drain."""
        return {
            "noop": [NOOP],
            "analytics-track": [ANALYTICS],
            "both": [NOOP, ANALYTICS],
        }[self.kind]


@dataclass(frozen=True)
class Config:
    """One row of the drain table and how to run it once."""

    kind: JobKind
    name: str
    setting: str
    role: Role
    run: Callable[[], DrainRun]

    def row(self, run: DrainRun) -> Row:
        """Return the printed row of this config with `run`'s figures."""
        return Row(self.kind.name, self.name, self.setting, self.role, run)


def prepare(dsn: str) -> None:
    """Add the bench queue (concurrency 10, the default) and its job type to the scratch database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO queue.queues (name, tier, max_attempts, backoff, backoff_base_s, keep_succeeded,
                                      keep_failed, keep_results, concurrency, alert_max_waiting,
                                      alert_max_oldest_age, alert_max_failed_per_hour)
            VALUES ('bench', 'ephemeral', 1, 'fixed', 1, '1 day', '1 day', false, 10, 1000000, '1 day', 1000000)
            """
        )
        conn.execute(
            "INSERT INTO queue.job_types (name, queue, default_priority, description) "
            "VALUES ('bench-noop', 'bench', 5, 'no-op job of the benchmark')"
        )


def _drain_with(
    dsn: str, kind: JobKind, jobs: int, spawn: Callable[[], "subprocess.Popen[bytes]"]
) -> DrainRun:
    enqueue_held(dsn, kind, jobs)
    children = [spawn() for _ in range(PROCESSES)]
    try:
        return timed_drain(dsn, kind, children)
    finally:
        stop_children(children)


def drain_ours(dsn: str, kind: JobKind, *, jobs: int, concurrency: int) -> DrainRun:
    """Drain with our worker processes at `concurrency` on the kind's queue."""
    reset(dsn)
    set_concurrency(dsn, kind.queue, concurrency)
    env = {
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "dev",
        "LOG_LEVEL": "WARNING",
        "WORKER_METRICS_PORT": "0",
        "WORKER_EXTRA_TASK_MODULES": TASK_MODULE,
    }
    args = ["app.cli", "worker", "--queues", kind.queue]
    return _drain_with(dsn, kind, jobs, lambda: spawn_module(args, env))


def drain_raw(dsn: str, *, jobs: int) -> DrainRun:
    """Drain the no-op backlog with raw procrastinate workers (default connector)."""
    reset(dsn)
    args = ["bench.drain", "raw-worker", dsn]
    return _drain_with(dsn, NOOP, jobs, lambda: spawn_module(args, {}))


def _ours(options: DrainOptions, dsn: str, kind: JobKind, shipped: int) -> list[Config]:
    def run_at(concurrency: int) -> Callable[[], DrainRun]:
        return lambda: drain_ours(dsn, kind, jobs=options.jobs, concurrency=concurrency)

    best = options.best_concurrency
    return [
        Config(
            kind,
            "ours, shipped defaults",
            f"{PROCESSES} x {shipped}",
            "defaults",
            run_at(shipped),
        ),
        Config(
            kind, "ours, best setting", f"{PROCESSES} x {best}", "best", run_at(best)
        ),
    ]


def _peers(options: DrainOptions, dsn: str) -> list[Config]:
    jobs = options.jobs
    peers = []
    if options.raw:
        peers.append(
            Config(
                NOOP,
                "raw procrastinate",
                f"{PROCESSES} x {RAW_CONCURRENCY}",
                "peer",
                lambda: drain_raw(dsn, jobs=jobs),
            )
        )
    if options.graphile is not None:
        directory = options.graphile
        peers.append(
            Config(
                NOOP,
                f"graphile-worker {check_harness(directory)}",
                f"{drain_peers.PROCESSES} x {drain_peers.PERF_PRESET['concurrentJobs']}, perf preset",
                "peer",
                lambda: drain_graphile(directory, dsn, jobs=jobs),
            )
        )
    return peers


def plan(options: DrainOptions, dsn: str, shipped: dict[str, int]) -> list[Config]:
    """Return the drain table's rows in the order they run, each with its runner.

    Ours drain every asked kind; the peers only `noop`, the one task they have.
    """
    configs: list[Config] = []
    for kind in options.kinds:
        configs.extend(_ours(options, dsn, kind, shipped[kind.queue]))
        if kind is NOOP:
            configs.extend(_peers(options, dsn))
    return configs


def run_plan(configs: list[Config], runs: int) -> list[DrainRun]:
    """Run every config `runs` times, interleaved (so drift hits all alike); return medians."""
    results: list[list[DrainRun]] = [[] for _ in configs]
    for _ in range(runs):
        for config, result in zip(configs, results, strict=True):
            result.append(config.run())
    return [median_run(result) for result in results]


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
            queues=[drain_tasks.BENCH_QUEUE], concurrency=RAW_CONCURRENCY
        )


async def _latency(
    run_worker: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    send: Callable[[float], Coroutine[Any, Any, None]],
    dsn: str,
) -> list[float]:
    reset(dsn)
    drain_tasks.STARTED_AFTER_S.clear()
    stop = asyncio.Event()
    worker = asyncio.create_task(run_worker(stop))
    await asyncio.to_thread(wait_for_workers, dsn, 1)
    for _ in range(LATENCY_JOBS):
        await send(time.time())
        await asyncio.sleep(LATENCY_GAP_S)
    for _ in range(600):  # at most 30 s for the last jobs to start
        if len(drain_tasks.STARTED_AFTER_S) >= LATENCY_JOBS:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await worker
    return list(drain_tasks.STARTED_AFTER_S)


async def latency_ours(dsn: str) -> list[float]:
    """Enqueue→start waits of our worker (1 process, in this one), in seconds."""
    config = WorkerConfig(dsn=dsn, queues=["bench"], extra_task_modules=(TASK_MODULE,))
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:

        async def send(at: float) -> None:
            await enqueue(
                conn, queue="bench", job_type="bench-noop", data={"sent_at": at}
            )

        async def work(stop: asyncio.Event) -> None:
            await run_worker_process(config, stop=stop)

        return await _latency(work, send, dsn)


async def latency_raw(dsn: str) -> list[float]:
    """Enqueue→start waits of raw procrastinate (1 process, in this one), in seconds."""
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
                    concurrency=RAW_CONCURRENCY,
                    install_signal_handlers=False,
                )
            )
            await stop.wait()
            runner.cancel()
            await asyncio.gather(runner, return_exceptions=True)

        return await _latency(work, send, dsn)


def _backlog(options: DrainOptions, dsn: str, shipped: dict[str, int]) -> Row:
    """Drain `--backlog` jobs of the first kind asked for, ours at shipped defaults."""
    kind = options.kinds[0]
    jobs = options.backlog or 0
    [config, _] = _ours(replace(options, jobs=jobs), dsn, kind, shipped[kind.queue])
    return config.row(median_run([config.run() for _ in range(options.runs)]))


def _shipped(dsn: str, kinds: list[JobKind]) -> dict[str, int]:
    return {kind.queue: concurrency_of(dsn, kind.queue) for kind in kinds}


def run_drain_bench(dsn: str, options: DrainOptions) -> None:
    """Run the drains and the latency benchmark in a scratch database and print the tables."""
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    if options.graphile is not None:
        check_harness(options.graphile)  # before any run, not after the first table
    with scratch_database(dsn) as scratch:
        prepare(scratch)
        shipped = _shipped(scratch, [NOOP, ANALYTICS])
        configs = plan(options, scratch, shipped)
        drains = run_plan(configs, options.runs)
        drain_report.print_drains(
            [config.row(run) for config, run in zip(configs, drains, strict=True)],
            options.runs,
        )
        if options.backlog:
            drain_report.print_backlog(
                _backlog(options, scratch, shipped), options.runs
            )
        latencies = [("queue-service worker", asyncio.run(latency_ours(scratch)))]
        if options.raw:
            latencies.insert(
                0, ("raw procrastinate", asyncio.run(latency_raw(scratch)))
            )
    drain_report.print_latency(latencies, LATENCY_JOBS, LATENCY_GAP_S)


if __name__ == "__main__":
    # `python -m bench.drain raw-worker DSN`: one raw procrastinate worker,
    # started by `drain_raw`; the benchmark itself is `python -m bench drain`.
    if sys.argv[1:2] != ["raw-worker"] or len(sys.argv) != 3:
        sys.exit("usage: python -m bench.drain raw-worker DSN")
    logging.basicConfig(level=logging.WARNING)
    # The App is built in this __main__ on purpose: a plain procrastinate user's.
    logging.getLogger("procrastinate.blueprints").setLevel(logging.ERROR)
    asyncio.run(run_raw_worker(sys.argv[2]))
