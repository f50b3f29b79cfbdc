"""`python -m bench metrics`: the metrics endpoints over 30 days of history.

A scratch database gets 30 days of the monitor's 30-second snapshots for the
three business queues (259,200 rows of `queue.queue_metrics`) and a month of
attempt outcomes, rolled up by the hour as the monitor does; then each
metrics endpoint is called through the real app (routing, auth, SQL,
serialisation) and its median time is printed.
"""

import asyncio
import statistics
import time
import uuid
from datetime import timedelta

import psycopg
from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.api.auth import issue_token
from app.domain.access import Role
from app.settings import ApiSettings, DatabaseSettings, Settings
from bench.scratch_db import scratch_database

SNAPSHOT_EVERY_S = 30
QUEUES = ("money", "communication", "background")
RUNS = 9
ENDPOINTS = (
    "/api/v1/queue/metrics/summary",
    "/api/v1/queue/metrics/summary?hours=720",
    "/api/v1/queue/metrics/throughput",
    "/api/v1/queue/metrics/throughput?minutes=1440",
    "/api/v1/queue/metrics/failures",
    "/api/v1/queue/metrics/failures?hours=720",
    "/api/v1/queue/metrics/prometheus",
)


def fill_history(dsn: str, *, days: int, outcomes: int) -> int:
    """Write `days` of snapshots for the three queues and `outcomes` attempts; return snapshots."""
    snapshots = days * 86_400 // SNAPSHOT_EVERY_S
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO queue.queue_metrics (
                queue_name, captured_at, waiting, scheduled, running,
                succeeded_last_hour, failed_last_hour, oldest_waiting_age_s
            )
            SELECT q, now() - i * make_interval(secs => %(every)s),
                   (random() * 200)::int, (random() * 20)::int, (random() * 10)::int,
                   (random() * 5000)::int, (random() * 20)::int, random() * 600
            FROM generate_series(0, %(snapshots)s - 1) AS i
            CROSS JOIN unnest(%(queues)s::text[]) AS q
            """,
            {"every": SNAPSHOT_EVERY_S, "snapshots": snapshots, "queues": list(QUEUES)},
        )
        conn.execute(
            """
            INSERT INTO queue.job_outcomes (
                job_id, queue_name, job_type, attempt, status, error_type, error_message,
                started_at, finished_at
            )
            SELECT i, (%(queues)s::text[])[1 + i %% 3],
                   (ARRAY['payment-process', 'send-email', 'analytics-track'])[1 + i %% 3],
                   1,
                   CASE WHEN i %% 20 = 0 THEN 'failed' WHEN i %% 33 = 0 THEN 'retried'
                        ELSE 'succeeded' END,
                   CASE WHEN i %% 20 = 0 OR i %% 33 = 0 THEN 'ProviderUnavailable' END,
                   CASE WHEN i %% 20 = 0 OR i %% 33 = 0
                        THEN 'provider failed on its side (HTTP ' || (500 + i %% 4) || ')' END,
                   now() - i * make_interval(secs => %(spacing)s) - interval '1 second',
                   now() - i * make_interval(secs => %(spacing)s)
            FROM generate_series(1, %(outcomes)s) AS i
            """,
            {
                "queues": list(QUEUES),
                "outcomes": outcomes,
                "spacing": timedelta(days=days).total_seconds() / outcomes,
            },
        )
        # What the monitor does a few hours per run, all at once.
        conn.execute("SELECT queue.roll_up_hours(%s)", (days * 24 + 24,))
        conn.execute(
            "VACUUM ANALYZE queue.queue_metrics, queue.job_outcomes, queue.outcome_hours, "
            "queue.error_hours, queue.queue_metric_hours, queue.rolled_up_hours"
        )
    return snapshots * len(QUEUES)


async def time_endpoints(dsn: str) -> list[tuple[str, float, int]]:
    """Return (path, median ms, response bytes) of each metrics endpoint."""
    secret = "bench-" + uuid.uuid4().hex
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=dsn),
        api=ApiSettings(jwt_secret=secret, rate_limit_per_minute=0),
    )
    token = issue_token(
        secret=secret,
        role=Role.MONITORING,
        sub="bench",
        venues=(),
        ttl=timedelta(hours=1),
    )
    headers = {"Authorization": f"Bearer {token}"}
    figures = []
    async with AsyncTestClient(app=create_app(settings)) as client:
        for path in ENDPOINTS:
            timings, size = [], 0
            for _ in range(RUNS + 1):  # the first run warms caches and plans
                started = time.perf_counter()
                response = await client.get(path, headers=headers)
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
                size = len(response.content)
            figures.append((path, statistics.median(timings[1:]) * 1000, size))
    return figures


def run_metrics_bench(dsn: str, *, days: int, outcomes: int) -> None:
    """Fill a scratch database with `days` of history and time the metrics endpoints."""
    with scratch_database(dsn) as scratch:
        started = time.perf_counter()
        snapshots = fill_history(scratch, days=days, outcomes=outcomes)
        print(
            f"{snapshots:,} snapshots ({days} days every {SNAPSHOT_EVERY_S} s, "
            f"{len(QUEUES)} queues) and {outcomes:,} outcomes written in "
            f"{time.perf_counter() - started:.0f} s"
        )
        figures = asyncio.run(time_endpoints(scratch))
    print(f"{'endpoint':<52} {'median':>9} {'bytes':>9}")
    for path, median_ms, size in figures:
        print(f"{path:<52} {median_ms:>6.1f} ms {size:>9,}")
