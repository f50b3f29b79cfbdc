"""One timed drain of `python -m bench drain`, the same for every worker.

The clock never reads procrastinate_events (the engine stops writing a row per
transition there), and process start-up counts for no one:
1. the backlog is enqueued with `queue.enqueue_many` on the job type's real
   queue (so the rows are exactly what our enqueue path writes), and in the
   same transaction moved to a holding queue name (`<queue>-held`) that no
   worker serves: no worker is running yet, and none could claim them later;
2. the workers start on the real queue; once they are registered in
   procrastinate_workers (and 0.5 s more for their LISTEN), one transaction
   moves the backlog back to the real queue; VACUUM ANALYZE and CHECKPOINT
   follow, so neither dead row versions nor a due checkpoint weigh on anyone;
3. the clock starts, one `job_inserted` NOTIFY wakes the queue's listeners,
   and a poll every 20 ms waits until no job of the queue is todo or doing.
Raw procrastinate drains the same rows (its worker takes the envelope's
`data` and `meta` as the task's arguments), so the method and the backlog are
one for all; only the consumer changes. Moving rows between queue names needs
no queue.queues row for the holding name, and wakes no one: only inserts
notify. CPU (worker and Postgres, `bench.drain_measure`) is read at both
ends of the same window, before any worker is asked to stop.
"""

import logging
import statistics
import subprocess
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors
from psycopg.types.json import Jsonb

from app.domain.job_types import CATALOGUE, validate_payload
from bench import drain_tasks
from bench.drain_measure import RssSampler, cpu_snapshot

ENQUEUE_CHUNK = 50_000
POLL_S = 0.02
LISTEN_GRACE_S = 0.5
WAKE_UP = '{"type": "job_inserted", "job_id": null}'

logger = logging.getLogger(__name__)


def analytics_payload(index: int) -> dict[str, Any]:
    """Return a valid `analytics-track` payload (see `AnalyticsTrack`), one user per job."""
    return {
        "eventType": "page_view",
        "userId": str(uuid.UUID(int=index + 1)),
        "venueId": str(uuid.UUID(int=1)),
        "properties": {"path": "/events", "n": index},
    }


def _noop_payload(index: int) -> dict[str, Any]:
    del index
    return {}


@dataclass(frozen=True)
class JobKind:
    """What a drain's backlog is made of: a job type, its queue and its payloads."""

    name: str
    job_type: str
    queue: str
    payload: Callable[[int], dict[str, Any]]

    @property
    def held(self) -> str:
        """Return the queue name the backlog waits under until the clock starts."""
        return f"{self.queue}-held"


NOOP = JobKind("noop", drain_tasks.BENCH_TASK, drain_tasks.BENCH_QUEUE, _noop_payload)
# The real type on its real queue, run by its real task body.
ANALYTICS = JobKind(
    "analytics-track",
    "analytics-track",
    CATALOGUE["analytics-track"].queue,
    analytics_payload,
)
KINDS = {kind.name: kind for kind in (NOOP, ANALYTICS)}


@dataclass(frozen=True)
class DrainRun:
    """One drain: its size, its time and what it cost."""

    jobs: int
    seconds: float
    worker_cpu_s: float
    postgres_cpu_s: float
    max_rss_kib: tuple[int, ...] = ()

    @property
    def rate(self) -> float:
        """Return jobs per second."""
        return self.jobs / self.seconds

    @property
    def worker_ms_per_job(self) -> float:
        """Return the workers' CPU milliseconds per job."""
        return self.worker_cpu_s * 1000 / self.jobs

    @property
    def postgres_ms_per_job(self) -> float:
        """Return Postgres's CPU milliseconds per job."""
        return self.postgres_cpu_s * 1000 / self.jobs

    @property
    def total_ms_per_job(self) -> float:
        """Return the CPU milliseconds per job, workers and Postgres together."""
        return self.worker_ms_per_job + self.postgres_ms_per_job


def median_run(runs: Sequence[DrainRun]) -> DrainRun:
    """Return each figure's median over `runs` (one run is its own median).

    Each column on its own: the printed time and CPU need not come from the
    same run, but none is dragged by one noisy repetition.
    """
    if not runs:
        raise ValueError("no runs to take the median of")
    width = max(len(run.max_rss_kib) for run in runs)
    return DrainRun(
        jobs=int(statistics.median(run.jobs for run in runs)),
        seconds=statistics.median(run.seconds for run in runs),
        worker_cpu_s=statistics.median(run.worker_cpu_s for run in runs),
        postgres_cpu_s=statistics.median(run.postgres_cpu_s for run in runs),
        max_rss_kib=tuple(
            int(statistics.median(run.max_rss_kib[i] for run in runs))
            for i in range(width)
            if all(len(run.max_rss_kib) > i for run in runs)
        ),
    )


def reset(dsn: str) -> None:
    """Empty the tables a drain writes, so every run starts from the same state."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, queue.job_outcomes,"
            " queue.analytics_events, queue.idempotency_keys CASCADE"
        )
        conn.execute("DELETE FROM procrastinate_workers")
        conn.execute(
            "VACUUM ANALYZE procrastinate_jobs, queue.job_outcomes, queue.analytics_events"
        )


def set_concurrency(dsn: str, queue: str, concurrency: int) -> None:
    """Set the queue's per-process concurrency, which our workers read at start."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE queue.queues SET concurrency = %s WHERE name = %s",
            (concurrency, queue),
        )


def concurrency_of(dsn: str, queue: str) -> int:
    """Return the queue's concurrency as the migrations (or `prepare`) left it."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT concurrency FROM queue.queues WHERE name = %s", (queue,)
        ).fetchone()
    if row is None:
        raise RuntimeError(f"no queue {queue!r} in queue.queues")
    return int(row[0])


def _batch(kind: JobKind, start: int, stop: int) -> list[dict[str, Any]]:
    batch = [
        {"queue": kind.queue, "job_type": kind.job_type, "data": kind.payload(index)}
        for index in range(start, stop)
    ]
    # Every payload has one shape: checking the first checks the kind's payload.
    validate_payload(kind.job_type, batch[0]["data"])
    return batch


def enqueue_held(dsn: str, kind: JobKind, jobs: int) -> None:
    """Enqueue `jobs` of `kind` in chunks of 50,000, each moved to the holding queue."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, jobs, ENQUEUE_CHUNK):
            batch = _batch(kind, start, min(jobs, start + ENQUEUE_CHUNK))
            with conn.transaction():
                conn.execute(
                    "SELECT count(*) FROM queue.enqueue_many(%s)", (Jsonb(batch),)
                )
                conn.execute(
                    "UPDATE procrastinate_jobs SET queue_name = %s WHERE queue_name = %s",
                    (kind.held, kind.queue),
                )


def wait_for_workers(
    dsn: str,
    count: int,
    children: Sequence["subprocess.Popen[bytes]"] = (),
    timeout_s: float = 60,
) -> None:
    """Wait until `count` workers are registered, then for their LISTEN.

    `children`, the worker processes when they are, fail the wait if one exits.
    """
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            _check_alive(children)
            row = conn.execute("SELECT count(*) FROM procrastinate_workers").fetchone()
            if row is not None and row[0] >= count:
                time.sleep(LISTEN_GRACE_S)  # LISTEN opens right after registering
                return
            time.sleep(0.05)
    raise RuntimeError(f"{count} worker(s) did not start within {timeout_s}s")


def _check_alive(workers: Sequence["subprocess.Popen[bytes]"]) -> None:
    for worker in workers:
        if worker.poll() is not None:
            raise RuntimeError(
                f"worker {worker.pid} exited with {worker.returncode} during the drain"
            )


def _release(dsn: str, kind: JobKind) -> int:
    """Move the backlog to the real queue in one transaction; return how many wait."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(
                "UPDATE procrastinate_jobs SET queue_name = %s WHERE queue_name = %s",
                (kind.queue, kind.held),
            )
        conn.execute("VACUUM ANALYZE procrastinate_jobs")
        try:
            conn.execute("CHECKPOINT")
        except errors.InsufficientPrivilege:
            pass  # without pg_checkpoint a checkpoint may fall in any run alike
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE status = 'todo'), count(*)"
            " FROM procrastinate_jobs WHERE queue_name = %s",
            (kind.queue,),
        ).fetchone()
    waiting, total = row if row else (0, 0)
    if waiting != total:
        # A worker's backstop poll fell between the release and the clock.
        logger.warning(
            "%d of %d jobs were claimed before the clock started; timing the other %d",
            total - waiting,
            total,
            waiting,
        )
    return int(waiting)


def _wait_until_empty(
    conn: psycopg.Connection[Any],
    queue: str,
    workers: Sequence["subprocess.Popen[bytes]"],
    timeout_s: float,
) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        row = conn.execute(
            "SELECT EXISTS (SELECT FROM procrastinate_jobs"
            " WHERE queue_name = %s AND status IN ('todo', 'doing'))",
            (queue,),
        ).fetchone()
        if row is not None and not row[0]:
            return
        _check_alive(workers)
        if time.monotonic() > deadline:
            raise RuntimeError(f"queue {queue} did not drain within {timeout_s:.0f}s")
        time.sleep(POLL_S)


def _warn_failures(conn: psycopg.Connection[Any], queue: str) -> None:
    """Say so when jobs failed: a drain of failures measures something else."""
    row = conn.execute(
        "SELECT count(*) FROM procrastinate_jobs"
        " WHERE queue_name = %s AND status NOT IN ('succeeded', 'todo', 'doing')",
        (queue,),
    ).fetchone()
    if row is not None and row[0]:
        logger.warning("%d jobs of queue %s did not succeed", row[0], queue)


def timed_drain(
    dsn: str, kind: JobKind, workers: Sequence["subprocess.Popen[bytes]"]
) -> DrainRun:
    """Time the started `workers` draining the held backlog of `kind`.

    The caller stops the workers afterwards: their CPU is read here, first.
    """
    wait_for_workers(dsn, len(workers), workers)
    jobs = _release(dsn, kind)
    if jobs == 0:
        raise RuntimeError(f"no job of {kind.name} waits in queue {kind.queue}")
    pids = [worker.pid for worker in workers]
    timeout_s = 600 + jobs / 100
    with psycopg.connect(dsn, autocommit=True) as conn, RssSampler(pids) as rss:
        before = cpu_snapshot(pids)
        started = time.perf_counter()
        conn.execute(
            "SELECT pg_notify(%s, %s)",
            (f"procrastinate_queue_v1#{kind.queue}", WAKE_UP),
        )
        _wait_until_empty(conn, kind.queue, workers, timeout_s)
        seconds = time.perf_counter() - started
        after = cpu_snapshot(pids)
        _warn_failures(conn, kind.queue)
    worker_s, postgres_s = after.seconds_since(before)
    return DrainRun(jobs, seconds, worker_s, postgres_s, rss.largest_kib)
