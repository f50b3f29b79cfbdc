"""`python -m bench sql`: what the claim and the completion cost per job, server side.

The engine's two hot statements must cost in proportion to their batch, never
to the table: `queue.fetch_jobs` at a growing backlog of waiting jobs, and
`queue.finish_jobs` at a growing batch. Each figure is the median server
execution time (EXPLAIN ANALYZE, so no client or network time) of a few runs,
divided by the jobs the statement handled. Every run is rolled back, so the
backlog stays what it says.
"""

import json
import statistics
from collections.abc import Sequence
from typing import Any

import psycopg

from bench.scratch_db import scratch_database

CLAIM_BATCH = 100
RUNS = 7


def _fill(conn: psycopg.Connection[tuple[object, ...]], waiting: int) -> None:
    # Straight into procrastinate's table: the claim reads only the rows, and a
    # million enqueues through the API path would take minutes.
    have = conn.execute(
        "SELECT count(*)::int FROM procrastinate_jobs WHERE status = 'todo'"
    ).fetchone()
    missing = waiting - (int(str(have[0])) if have else 0)
    if missing > 0:
        conn.execute(
            """
            INSERT INTO procrastinate_jobs (queue_name, task_name, priority, args)
            SELECT 'background', 'analytics-track', 3,
                   jsonb_build_object('data', jsonb_build_object('eventType', 'e', 'n', i),
                                      'meta', jsonb_build_object('enqueued_at', now()))
            FROM generate_series(1, %(missing)s) AS i
            """,
            {"missing": missing},
        )
    conn.execute("VACUUM ANALYZE procrastinate_jobs")


def _server_ms(
    conn: psycopg.Connection[tuple[object, ...]], query: str, params: dict[str, object]
) -> float:
    row = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {query}", params).fetchone()
    plan: Any = row[0] if row else "[{}]"
    if isinstance(plan, str):
        plan = json.loads(plan)
    return float(plan[0]["Execution Time"])


def _claim_us_per_job(
    conn: psycopg.Connection[tuple[object, ...]], worker_id: int
) -> float:
    times = []
    for _ in range(RUNS):
        with conn.transaction(force_rollback=True):
            times.append(
                _server_ms(
                    conn,
                    "SELECT * FROM queue.fetch_jobs('background', %(worker)s, %(batch)s)",
                    {"worker": worker_id, "batch": CLAIM_BATCH},
                )
            )
    return statistics.median(times) * 1000 / CLAIM_BATCH


def _finish_us_per_job(
    conn: psycopg.Connection[tuple[object, ...]], worker_id: int, batch: int
) -> float:
    times = []
    for _ in range(RUNS):
        with conn.transaction(force_rollback=True):
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM queue.fetch_jobs('background', %(worker)s, %(batch)s)",
                    {"worker": worker_id, "batch": batch},
                ).fetchall()
            ]
            times.append(
                _server_ms(
                    conn,
                    "SELECT queue.finish_jobs(%(ids)s, "
                    "array_fill('succeeded'::procrastinate_job_status, ARRAY[%(n)s]), "
                    "array_fill(NULL::text, ARRAY[%(n)s]), array_fill(NULL::text, ARRAY[%(n)s]), "
                    "array_fill(NULL::jsonb, ARRAY[%(n)s]), array_fill(now(), ARRAY[%(n)s]), "
                    "array_fill(now(), ARRAY[%(n)s]), array_fill(%(worker)s::bigint, ARRAY[%(n)s]))",
                    {"ids": ids, "n": len(ids), "worker": worker_id},
                )
            )
    return statistics.median(times) * 1000 / batch


def run_sql_costs_bench(
    dsn: str, *, backlogs: Sequence[int], batches: Sequence[int]
) -> None:
    """Print the claim's cost per job by backlog and the completion's by batch."""
    with (
        scratch_database(dsn) as scratch,
        psycopg.connect(scratch, autocommit=True) as conn,
    ):
        row = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()) RETURNING id"
        ).fetchone()
        worker_id = int(row[0]) if row else 0
        print(
            f"SQL cost per job, server time (EXPLAIN ANALYZE), median of {RUNS} rolled-back runs"
        )
        print(f"queue.fetch_jobs, batch {CLAIM_BATCH}")
        print(f"{'backlog':>12}  {'µs/job':>8}")
        for backlog in sorted(backlogs):
            _fill(conn, backlog)
            print(f"{backlog:>12,}  {_claim_us_per_job(conn, worker_id):>8.1f}")
        print(
            f"queue.finish_jobs (succeeded, ephemeral: deleted), backlog {max(backlogs):,}"
        )
        print(f"{'batch':>12}  {'µs/job':>8}")
        for batch in batches:
            print(f"{batch:>12,}  {_finish_us_per_job(conn, worker_id, batch):>8.1f}")
