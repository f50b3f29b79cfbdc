"""`python -m bench console`: the console's pages over HTTP, over a large history.

In a scratch database: `bench.console_seed`'s million finished jobs (with
their outcomes and keys) and ten thousand waiting ones, a day of the
monitor's snapshots for every queue, and the hourly rollups the monitor
would have written. A real `queue-service serve` answers; a client signed in
as admin (the session cookie, as a browser sends it) times each page: the
median and the slowest of 7 requests after a warm-up, wall time from request
to the last byte, rendering included. The service-level times of the job
browser's searches are printed too (`bench.console_seed`).
"""

import http.client
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import uuid
from datetime import timedelta

import psycopg

from bench.console_seed import (
    RARE_TYPE,
    RARE_VENUE,
    ConsoleDataset,
    fill_console_dataset,
    print_job_browser,
    time_job_browser,
)
from bench.processes import child_env
from bench.scratch_db import scratch_database

RUNS = 7
SECRET = "bench-secret-" + uuid.uuid4().hex
PORT = 3022

_SNAPSHOTS = """
INSERT INTO queue.queue_metrics (
    queue_name, captured_at, waiting, scheduled, running, succeeded_last_hour,
    failed_last_hour, oldest_waiting_age_s
)
SELECT q.name, now() - i * interval '30 seconds', (i * 7919) % 500, 0, i % 9,
       1800, i % 13, i % 600
FROM generate_series(0, 2880) AS i CROSS JOIN queue.queues AS q
"""


def fill(dsn: str, *, finished: int, waiting: int) -> ConsoleDataset:
    """Load the history, the day's snapshots and the rollups."""
    data = fill_console_dataset(dsn, finished=finished, waiting=waiting)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(_SNAPSHOTS)
        # As the monitor does, 12 hours a run, until every complete hour is rolled.
        while conn.execute("SELECT queue.roll_up_hours(12)").fetchone() != (0,):
            pass
        conn.execute("VACUUM ANALYZE queue.queue_metrics")
    return data


def pages(data: ConsoleDataset) -> dict[str, str]:
    """The pages timed, by name: their paths."""
    middle = (
        data.first_enqueued_at + (data.last_enqueued_at - data.first_enqueued_at) / 2
    )

    def jobs(**query: str) -> str:
        return "/console/jobs?" + urllib.parse.urlencode(query)

    return {
        "overview": "/console",
        "jobs, no filter": "/console/jobs",
        "jobs, rare type": jobs(type=RARE_TYPE),
        "jobs, rare venue": jobs(venue=RARE_VENUE),
        "jobs, failed": jobs(state="failed"),
        "jobs, one hour mid-history": jobs(
            since=middle.isoformat(), until=(middle + timedelta(hours=1)).isoformat()
        ),
        "jobs, by id": jobs(id=str(data.sample_job_id)),
        "jobs, by key": jobs(key=data.sample_key),
        "job detail": f"/console/jobs/{data.sample_job_id}",
        "failures": "/console/failures",
        "limits": "/console/limits",
        "alerts": "/console/alerts",
        "schedules": "/console/schedules",
        "workers": "/console/workers",
    }


def _get(conn: http.client.HTTPConnection, path: str, cookie: str) -> float:
    started = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": cookie})
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {body[:200]!r}")
    return elapsed


def time_pages(port: int, cookie: str, paths: dict[str, str]) -> dict[str, list[float]]:
    """Return each page's request times (after one warm-up request), in seconds."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    timings: dict[str, list[float]] = {}
    for name, path in paths.items():
        _get(conn, path, cookie)
        timings[name] = [_get(conn, path, cookie) for _ in range(RUNS)]
    conn.close()
    return timings


def _serve(scratch: str) -> "subprocess.Popen[bytes]":
    env = child_env(
        {
            "DATABASE_URL": scratch,
            "JWT_SECRET": SECRET,
            "PORT": str(PORT),
            "LOG_LEVEL": "WARNING",
            "QUEUE_ENV": "prod",
            "API_RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    # Our own interpreter and CLI: no outside input.
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/health/live")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the API did not start")


def run_console_bench(dsn: str, *, finished: int, waiting: int) -> None:
    """Fill a scratch database, serve it, and print each page's times."""
    from app.api.auth import issue_token
    from app.domain.access import Role

    token = issue_token(
        secret=SECRET, role=Role.ADMIN, sub="bench", ttl=timedelta(minutes=30)
    )
    with scratch_database(dsn) as scratch:
        started = time.perf_counter()
        data = fill(scratch, finished=finished, waiting=waiting)
        print(
            f"loaded {finished:,} finished and {waiting:,} waiting jobs "
            f"in {time.perf_counter() - started:.0f} s"
        )
        server = _serve(scratch)
        try:
            timings = time_pages(PORT, f"queue_console={token}", pages(data))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
        browser = time_job_browser(scratch, data)
    print(f"\nconsole pages over HTTP (median and slowest of {RUNS}, after a warm-up):")
    print(f"  {'page':<30} {'median':>9} {'slowest':>9}")
    for name, seconds in timings.items():
        print(
            f"  {name:<30} {statistics.median(seconds) * 1000:>7.1f} ms"
            f" {max(seconds) * 1000:>7.1f} ms"
        )
    print("\nthe job browser's service call, by search:")
    print_job_browser(browser)
