"""The psql views: what they say, and that the overview never reads finished jobs."""

import json

import psycopg
from psycopg.types.json import Jsonb

from bench.overview import fill_overview_dataset

U = "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02"


def _plan(conn: psycopg.Connection, query: str) -> dict:
    (plan,) = conn.execute(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}"
    ).fetchone()
    return plan[0]


def _nodes(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def test_overview_counts_waiting_scheduled_and_running(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job = {
            "queue": "communication",
            "job_type": "send-push",
            "data": {"userId": U, "title": "t", "body": "b"},
        }
        conn.execute(
            "SELECT * FROM queue.enqueue_many(%s)",
            (
                Jsonb(
                    [
                        job,
                        {**job, "data": {"userId": U, "title": "t2", "body": "b"}},
                        {
                            **job,
                            "data": {"userId": U, "title": "later", "body": "b"},
                            "run_at": "2099-01-01T00:00:00Z",
                        },
                    ]
                ),
            ),
        )
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = (SELECT min(id) FROM procrastinate_jobs)"
        )
        conn.execute(
            "UPDATE queue.queues SET paused = true WHERE name = 'communication'"
        )
        rows = {
            row[0]: row
            for row in conn.execute(
                "SELECT queue, waiting, scheduled, running, paused, oldest_waiting_age IS NOT NULL FROM queue.overview"
            ).fetchall()
        }
    assert rows["communication"] == ("communication", 1, 1, 1, True, True)
    assert rows["money"] == ("money", 0, 0, 0, False, False)


def test_jobs_view_shows_type_state_key_and_meta(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = conn.execute(
            "SELECT * FROM queue.enqueue('money', 'refund-process', %s, meta => %s)",
            (
                Jsonb({"transactionId": "pi_123"}),
                Jsonb({"user_id": "u-7", "request_id": "req-1"}),
            ),
        ).fetchone()
        row = conn.execute(
            "SELECT queue, job_type, state, priority, max_attempts, idempotency_key, user_id, request_id, "
            "enqueued_at IS NOT NULL, data FROM queue.jobs WHERE id = %s",
            (job_id,),
        ).fetchone()
    assert row == (
        "money",
        "refund-process",
        "todo",
        10,
        10,
        "refund-pi_123",
        "u-7",
        "req-1",
        True,
        {"transactionId": "pi_123"},
    )


def test_failures_view_lists_failed_jobs_with_their_last_error(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = conn.execute(
            """SELECT * FROM queue.enqueue('background', 'generate-report', '{"reportType": "jobs"}')"""
        ).fetchone()
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', attempts = 1 WHERE id = %s",
            (job_id,),
        )
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", (job_id,)
        )
        conn.execute(
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, error_type, error_message, started_at) "
            "VALUES (%s, 'background', 'generate-report', 1, 'failed', 'PermanentTaskError', 'format xls is not supported', now())",
            (job_id,),
        )
        rows = conn.execute(
            "SELECT id, queue, job_type, attempts, last_error_type, last_error, failed_at IS NOT NULL FROM queue.failures"
        ).fetchall()
        overview = conn.execute(
            "SELECT failed_last_hour FROM queue.overview WHERE queue = 'background'"
        ).fetchone()
    assert rows == [
        (
            job_id,
            "background",
            "generate-report",
            1,
            "PermanentTaskError",
            "format xls is not supported",
            True,
        )
    ]
    assert overview == (1,)


def test_overview_does_not_read_finished_jobs(db_dsn):
    """1,000,000 finished jobs and 10,000 waiting ones: the overview touches only the waiting."""
    fill_overview_dataset(db_dsn, finished=1_000_000, waiting=10_000)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        table_pages = conn.execute(
            "SELECT relpages FROM pg_class WHERE oid = 'procrastinate_jobs'::regclass"
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT queue, waiting FROM queue.overview ORDER BY queue"
        ).fetchall()
        plan = _plan(conn, "SELECT * FROM queue.overview")

    assert rows == [
        ("background", 3333),
        ("communication", 3333),
        ("maintenance", 0),
        ("money", 3334),
    ]
    scans = [
        node
        for node in _nodes(plan["Plan"])
        if node.get("Relation Name") == "procrastinate_jobs"
    ]
    assert scans and all(node["Node Type"] != "Seq Scan" for node in scans), json.dumps(
        plan
    )[:2000]
    touched = plan["Plan"]["Shared Hit Blocks"] + plan["Plan"]["Shared Read Blocks"]
    # 10,000 waiting rows live in a few hundred pages; reading the finished
    # history would touch the whole table.
    assert touched < table_pages / 10, (touched, table_pages)
    assert "JIT" not in plan, "the overview's estimate must stay under jit_above_cost"
