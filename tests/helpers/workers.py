"""Real worker processes for tests, and the database setup their tasks need."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

from app.settings import ProviderSettings

ROOT = Path(__file__).resolve().parents[2]

TEST_TYPES_SQL = """
CREATE TABLE IF NOT EXISTS test_side_effects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id bigint NOT NULL,
    attempt integer NOT NULL,
    value text,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);
INSERT INTO queue.job_types (name, queue, default_priority, description) VALUES
    ('test-record-money', 'money', 5, 'test task'),
    ('test-record-communication', 'communication', 5, 'test task'),
    ('test-record-background', 'background', 5, 'test task'),
    ('test-sync-abort', 'background', 5, 'test task')
ON CONFLICT (name) DO NOTHING;
-- Fast retries, so tests do not wait for production backoffs.
UPDATE queue.queues SET backoff_base_s = 0.1, backoff_cap_s = NULL, backoff_factor = 1;
"""


def prepare_test_tasks(dsn: str) -> None:
    """Add the test job types, their side-effect table and fast retries to a test database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(TEST_TYPES_SQL)


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_env(dsn: str, **overrides: str) -> dict[str, str]:
    """Environment of a test worker: fast heartbeats, rescue and polling."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "dev",
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "text",
        "WORKER_METRICS_PORT": "0",
        "WORKER_EXTRA_TASK_MODULES": "tests.worker_tasks",
        "WORKER_POLL_INTERVAL_S": "0.5",
        "WORKER_HEARTBEAT_S": "1",
        "WORKER_STALLED_AFTER_S": "3",
        "WORKER_RESCUE_EVERY_S": "1",
        "WORKER_SHUTDOWN_GRACE_S": "10",
    }
    env.update(overrides)
    return env


@contextlib.contextmanager
def worker_process(
    dsn: str, log_dir: Path, *args: str, name: str = "worker", **env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `queue-service worker ARGS`; SIGTERM it (and wait) on exit."""
    log = (log_dir / f"{name}.log").open("wb")
    # The test's own interpreter running our CLI: no outside input.
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", *args],
        cwd=ROOT,
        env=worker_env(dsn, **env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


def wait_for(
    predicate: Callable[[], object], *, timeout: float = 30, what: str = "condition"
) -> object:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def query(
    dsn: str, sql: str, params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    """Run one statement in autocommit and return its rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def enqueue(
    dsn: str, queue: str, job_type: str, data: dict[str, object], **kwargs: object
) -> int:
    """Enqueue through queue.enqueue and return the job id."""
    from psycopg.types.json import Jsonb

    names = ", ".join(f"{k} => %({k})s" for k in kwargs)
    rows = query_params(
        dsn,
        f"SELECT job_id FROM queue.enqueue(%(queue)s, %(job_type)s, %(data)s{', ' + names if names else ''})",
        {"queue": queue, "job_type": job_type, "data": Jsonb(data), **kwargs},
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def defer_around_enqueue(
    dsn: str, queue: str, job_type: str, data: dict[str, object]
) -> int:
    """Defer a job with procrastinate's own function, skipping queue.enqueue's checks.

    What a producer writing around the enqueue path leaves: the worker must
    refuse such data itself.
    """
    from psycopg.types.json import Jsonb

    rows = query_params(
        dsn,
        "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(%(queue)s, %(job_type)s, 5, NULL,"
        " NULL, jsonb_build_object('data', %(data)s::jsonb, 'meta', '{}'::jsonb),"
        " NULL)::procrastinate_job_to_defer_v1]))[1]",
        {"queue": queue, "job_type": job_type, "data": Jsonb(data)},
    )
    return int(rows[0][0])  # type: ignore[call-overload]


def query_params(
    dsn: str, sql: str, params: dict[str, object]
) -> list[tuple[object, ...]]:
    """Run one statement with named parameters and return its rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(sql, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def workers_registered(dsn: str) -> int:
    """Return how many procrastinate workers are registered."""
    return int(query(dsn, "SELECT count(*) FROM procrastinate_workers")[0][0])  # type: ignore[call-overload]


def provider_env(settings: ProviderSettings) -> dict[str, str]:
    """Environment variables that give a worker process these provider settings."""
    env: dict[str, str] = {}
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        if isinstance(value, tuple):
            value = ",".join(str(item) for item in value)
        variable = name.upper()
        alias = field.validation_alias
        choices = getattr(alias, "choices", ())
        variable = next(
            (c for c in choices if isinstance(c, str) and c.isupper()), variable
        )
        env[variable] = str(value)
    return env
