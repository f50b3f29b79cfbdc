"""`python -m bench providers`: provider jobs through the gate to local fake providers.

In a scratch database, `send-email` and `send-sms` jobs run through real
worker processes (`queue-service worker --queues communication`, the shipped
concurrency) against the fake SendGrid and Twilio servers the tests use, over
HTTP on 127.0.0.1. Every call goes through the provider gate: the ledger, the
breaker and the token buckets, with the buckets' limits raised so that the
gate's own cost is what is measured, not the limit. The time is from the first
job's start to the last job's finish (procrastinate's events); CPU is that of
the worker processes and of this machine's PostgreSQL server processes over
the drain.
"""

import os
import resource
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from bench.drain_run import wait_for_workers
from bench.processes import spawn_module, stop_children
from bench.scratch_db import scratch_database
from tests.fakes.fixtures import SENDER, TWILIO_NUMBER
from tests.fakes.process import FakeProcess, fake_process

API_KEY = "SG.bench"
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "bench-token"  # noqa: S105 - the local fake's, nothing real
# Limits far above what the machine can send: the gate's cost, not its limit.
UNLIMITED = {"PER_S": "1000000", "BURST": "1000000", "MAX_CONCURRENT": "100000"}


@dataclass(frozen=True)
class ProviderFigure:
    """One drain of provider jobs."""

    job_type: str
    jobs: int
    seconds: float
    worker_cpu_s: float
    postgres_cpu_s: float | None

    def _ms_per_job(self, cpu_s: float | None) -> str:
        return "-" if cpu_s is None else f"{cpu_s / self.jobs * 1000:.2f}"

    def row(self) -> str:
        """Return the figure as a line of the table."""
        return (
            f"{self.job_type:<12} {self.jobs:>7,} {self.seconds:>9.2f} "
            f"{self.jobs / self.seconds:>9,.0f} {self._ms_per_job(self.worker_cpu_s):>10} "
            f"{self._ms_per_job(self.postgres_cpu_s):>10}"
        )


def _postgres_cpu_s() -> float | None:
    # utime + stime of every local PostgreSQL server process, from /proc.
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    found = False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name.startswith("postgres"):
            fields = text[text.rindex(")") + 2 :].split()
            total += int(fields[11]) + int(fields[12])
            found = True
    return total / ticks if found else None


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _enqueue(dsn: str, job_type: str, jobs: int) -> None:
    if job_type == "send-email":
        data = [
            {
                "to": f"fan{n}@example.com",
                "subject": f"Your tickets {n}",
                "content": "Doors at 7",
            }
            for n in range(jobs)
        ]
    else:
        data = [
            {"to": f"+1415{n:07d}", "message": "Doors at 7", "template": "doors"}
            for n in range(jobs)
        ]
    batch = [{"queue": "communication", "job_type": job_type, "data": d} for d in data]
    with psycopg.connect(dsn, autocommit=True) as conn:
        for start in range(0, jobs, 10_000):
            conn.execute(
                "SELECT count(*) FROM queue.enqueue_many(%s)",
                (Jsonb(batch[start : start + 10_000]),),
            )
        conn.execute("VACUUM ANALYZE procrastinate_jobs")


def _drained_seconds(dsn: str, timeout_s: float = 900) -> float:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            (left,) = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE queue_name = 'communication' AND status IN ('todo', 'doing')"
            ).fetchone() or (0,)
            if left == 0:
                (failed,) = conn.execute(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'failed'"
                ).fetchone() or (0,)
                if failed:
                    (why,) = conn.execute(
                        "SELECT min(error_message) FROM queue.job_outcomes WHERE status = 'failed'"
                    ).fetchone() or ("",)
                    raise RuntimeError(f"{failed} provider job(s) failed: {why}")
                # First start to last finish, as the outcome rows record them.
                (seconds,) = conn.execute(
                    "SELECT extract(epoch FROM max(finished_at) - min(started_at))::float8"
                    " FROM queue.job_outcomes WHERE status = 'succeeded'"
                ).fetchone() or (0.0,)
                return float(seconds)
            time.sleep(0.1)
    raise RuntimeError(f"the communication queue did not drain within {timeout_s}s")


def _reset(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, queue.job_outcomes, "
            "queue.side_effects, queue.idempotency_keys, queue.rate_limit_leases CASCADE"
        )
        conn.execute("DELETE FROM procrastinate_workers")


@contextmanager
def _fakes() -> Iterator[tuple[FakeProcess, FakeProcess]]:
    with ExitStack() as stack:
        sendgrid = stack.enter_context(fake_process("sendgrid", "--api-key", API_KEY))
        twilio = stack.enter_context(
            fake_process(
                "twilio", "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN
            )
        )
        yield sendgrid, twilio


def _worker_env(dsn: str, sendgrid: FakeProcess, twilio: FakeProcess) -> dict[str, str]:
    env = {
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "dev",
        "LOG_LEVEL": "WARNING",
        "WORKER_METRICS_PORT": "0",
        "SENDGRID_API_KEY": API_KEY,
        "SENDGRID_API_BASE": sendgrid.url,
        "SENDGRID_FROM": SENDER,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM": TWILIO_NUMBER,
        "TWILIO_API_BASE": twilio.url,
    }
    for bucket in ("SENDGRID", "TWILIO", "TWILIO_SMS"):
        for field, value in UNLIMITED.items():
            env[f"RATE_LIMIT_{bucket}_{field}"] = value
    return env


def drain_providers(
    dsn: str, env: dict[str, str], *, job_type: str, jobs: int, processes: int
) -> ProviderFigure:
    """Drain `jobs` jobs of `job_type` with `processes` worker processes."""
    _reset(dsn)
    _enqueue(dsn, job_type, jobs)
    cpu_before, pg_before = _children_cpu_s(), _postgres_cpu_s()
    children = [
        spawn_module(["app.cli", "worker", "--queues", "communication"], env)
        for _ in range(processes)
    ]
    try:
        wait_for_workers(dsn, processes, children)
        seconds = _drained_seconds(dsn)
        pg_after = _postgres_cpu_s()
    finally:
        stop_children(children)
    postgres = None if pg_before is None or pg_after is None else pg_after - pg_before
    return ProviderFigure(
        job_type, jobs, seconds, _children_cpu_s() - cpu_before, postgres
    )


def run_providers_bench(dsn: str, *, jobs: int, processes: int) -> None:
    """Print the drain rate and CPU per job of send-email and send-sms through the gate."""
    with scratch_database(dsn) as scratch, _fakes() as (sendgrid, twilio):
        env = _worker_env(scratch, sendgrid, twilio)
        figures = [
            drain_providers(
                scratch, env, job_type=job_type, jobs=jobs, processes=processes
            )
            for job_type in ("send-email", "send-sms")
        ]
    print(
        f"provider jobs through the gate to local fakes: {processes} worker process(es), "
        "shipped concurrency, limits raised; first start to last finish"
    )
    print(
        f"{'job type':<12} {'jobs':>7} {'seconds':>9} {'jobs/s':>9} "
        f"{'worker ms':>10} {'pg ms':>10}   (CPU per job)"
    )
    for figure in figures:
        print(figure.row())
    print("worker CPU includes process start-up and shutdown")
