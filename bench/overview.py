"""`python -m bench overview`: the time of `SELECT * FROM queue.overview` over a large history.

In a scratch database, a million finished jobs (as retention would keep them)
and ten thousand waiting ones; the view reads only the waiting and running
rows, so its time should not grow with the history. Prints the median of 7
runs.
"""

import statistics
import time
import uuid

import psycopg

from app.services.enqueue import JobRequest
from bench.scratch_db import scratch_database


def fill_overview_dataset(dsn: str, *, finished: int, waiting: int) -> None:
    """Load `finished` finished jobs and `waiting` waiting ones, as retention would keep them.

    Finished jobs are inserted directly (their states need no triggers); waiting
    ones go through queue.enqueue_many like real jobs.
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO procrastinate_jobs (queue_name, task_name, priority, status, attempts, args)
            SELECT (ARRAY['money', 'communication', 'background'])[1 + i %% 3],
                   'analytics-track', 3,
                   (CASE WHEN i %% 50 = 0 THEN 'failed' ELSE 'succeeded' END)::procrastinate_job_status,
                   1,
                   jsonb_build_object('data', jsonb_build_object('n', i), 'meta', jsonb_build_object(
                       'enqueued_at', now() - make_interval(secs => i)))
            FROM generate_series(1, %(finished)s) AS i
            """,
            {"finished": finished},
        )
        queues = ["money", "communication", "background"]
        jobs = [
            JobRequest(
                queues[i % 3],
                {
                    "money": "refund-process",
                    "communication": "send-push",
                    "background": "analytics-track",
                }[queues[i % 3]],
                {
                    "transactionId": f"tx-{i}",
                    "userId": str(uuid.UUID(int=i)),
                    "title": f"t{i}",
                    "body": "b",
                    "eventType": "e",
                },
                run_at=None,
            )
            for i in range(waiting)
        ]
        conn.execute(
            "SELECT count(*) FROM queue.enqueue_many(%s)",
            (psycopg.types.json.Jsonb([job.as_json() for job in jobs]),),
        )
        conn.execute("VACUUM ANALYZE procrastinate_jobs")


def time_overview(dsn: str, *, runs: int = 7) -> float:
    """Return the median wall time of `SELECT * FROM queue.overview`, in seconds."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT * FROM queue.overview"
        ).fetchall()  # warm the cache and plan
        seconds = []
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute("SELECT * FROM queue.overview").fetchall()
            seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def run_overview_bench(dsn: str, *, finished: int, waiting: int) -> float:
    """Time queue.overview over a large finished history, in a scratch database."""
    with scratch_database(dsn) as scratch:
        fill_overview_dataset(scratch, finished=finished, waiting=waiting)
        median = time_overview(scratch)
    print(
        f"queue.overview with {finished:,} finished and {waiting:,} waiting jobs: "
        f"median {median * 1000:.1f} ms of 7 runs"
    )
    return median
