"""queue.run_retention and `queue-service retention` against a large, mixed history."""

import subprocess
import sys

import psycopg
import pytest

from tests.helpers.workers import ROOT, query, worker_env

# (queue, job type, status, finished days ago, expired?) per policy:
# money keeps succeeded 90 days (nft-mint 365) and failed 365 days;
# communication 7 / 30; background 0 (deleted at finish) / 7.
CASES = [
    ("money", "refund-process", "succeeded", 89, False),
    ("money", "refund-process", "succeeded", 91, True),
    ("money", "nft-mint", "succeeded", 200, False),
    ("money", "nft-mint", "succeeded", 366, True),
    ("money", "payment-process", "failed", 300, False),
    ("money", "payment-process", "failed", 366, True),
    ("communication", "send-email", "succeeded", 6, False),
    ("communication", "send-email", "succeeded", 8, True),
    ("communication", "send-sms", "failed", 29, False),
    ("communication", "send-sms", "cancelled", 31, True),
    ("background", "generate-report", "failed", 6, False),
    ("background", "generate-report", "aborted", 8, True),
    ("background", "analytics-track", "succeeded", 1, True),
]
PER_CASE = 50_000 // len(CASES)


def load_history(conn: psycopg.Connection) -> None:
    for index, (queue, job_type, status, days, _) in enumerate(CASES):
        conn.execute(
            """
            WITH jobs AS (
                INSERT INTO procrastinate_jobs (queue_name, task_name, status, attempts, args)
                SELECT %(queue)s, %(job_type)s, %(status)s::procrastinate_job_status, 1,
                       jsonb_build_object('data', '{}'::jsonb, 'meta', jsonb_build_object('case', %(case)s))
                FROM generate_series(1, %(n)s)
                RETURNING id
            )
            INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, started_at, finished_at)
            SELECT id, %(queue)s, %(job_type)s, 1, %(status)s,
                   now() - make_interval(days => %(days)s) - interval '1 second',
                   now() - make_interval(days => %(days)s)
            FROM jobs
            """,
            {
                "queue": queue,
                "job_type": job_type,
                "status": status,
                "case": index,
                "n": PER_CASE,
                "days": days,
            },
        )
        # Each job also has its procrastinate events, which must go with it.
        conn.execute(
            "INSERT INTO procrastinate_events (job_id, type) SELECT id, 'started' FROM procrastinate_jobs "
            "WHERE args -> 'meta' ->> 'case' = %s",
            (str(index),),
        )


def test_retention_deletes_exactly_the_expired_jobs(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        load_history(conn)
        # A retried job: its old final outcome is expired, but it ran again since.
        (retried,) = conn.execute(
            "SELECT min(id) FROM procrastinate_jobs WHERE args -> 'meta' ->> 'case' = '1'"
        ).fetchone()
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'todo' WHERE id = %s", (retried,)
        )
        # Keys: one expired with a finished job, one expired but its job still waits, one fresh.
        conn.execute(
            "INSERT INTO queue.idempotency_keys (key, job_type, job_id, created_at) VALUES "
            "('old-done', 'refund-process', 1, now() - interval '100 days'), "
            "('old-waiting', 'refund-process', %s, now() - interval '100 days'), "
            "('fresh', 'refund-process', 1, now() - interval '1 day')",
            (retried,),
        )
        conn.execute(
            "INSERT INTO queue.queue_metrics (queue_name, captured_at, waiting, scheduled, running, "
            "succeeded_last_hour, failed_last_hour) VALUES "
            "('money', now() - interval '31 days', 0, 0, 0, 0, 0), ('money', now() - interval '29 days', 0, 0, 0, 0, 0)"
        )
        conn.execute(
            "INSERT INTO queue.alert_history (severity, type, message, created_at) VALUES "
            "('warning', 'depth', 'old', now() - interval '8 days'), ('warning', 'depth', 'new', now())"
        )
        conn.execute(
            "INSERT INTO queue.side_effects (key, job_id, provider, step, fingerprint, status, started_at) "
            "VALUES ('old:send', 1, 'twilio', 'send', 'f', 'succeeded', now() - interval '91 days'), "
            "('new:send', 1, 'twilio', 'send', 'f', 'succeeded', now() - interval '89 days')"
        )

    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "retention", "--batch-size", "1000"],
        cwd=ROOT,
        env=worker_env(db_dsn),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expired_cases = [i for i, case in enumerate(CASES) if case[4]]
    expected_jobs = PER_CASE * len(expired_cases) - 1  # the retried one stays
    counts = dict(pair.split("=") for pair in result.stdout.split())
    assert int(counts["procrastinate_jobs"]) == expected_jobs
    assert int(counts["procrastinate_events"]) == expected_jobs
    assert int(counts["job_outcomes"]) == expected_jobs
    assert int(counts["idempotency_keys"]) == 1
    assert int(counts["queue_metrics"]) == 1
    assert int(counts["alert_history"]) == 1
    assert int(counts["side_effects"]) == 1

    with psycopg.connect(db_dsn) as conn:
        left = dict(
            conn.execute(
                "SELECT (args -> 'meta' ->> 'case')::int, count(*) FROM procrastinate_jobs GROUP BY 1"
            ).fetchall()
        )
        keys = [
            k
            for (k,) in conn.execute(
                "SELECT key FROM queue.idempotency_keys ORDER BY key"
            ).fetchall()
        ]
        orphans = conn.execute(
            "SELECT count(*) FROM queue.job_outcomes o WHERE NOT EXISTS "
            "(SELECT 1 FROM procrastinate_jobs j WHERE j.id = o.job_id)"
        ).fetchone()
    for index, case in enumerate(CASES):
        expected = (1 if index == 1 else 0) if case[4] else PER_CASE
        assert left.get(index, 0) == expected, (case, left.get(index))
    assert keys == ["fresh", "old-waiting"]
    assert query(db_dsn, "SELECT key FROM queue.side_effects") == [("new:send",)]
    assert orphans == (0,)


def test_retention_refuses_a_bad_batch_size(db_dsn):
    with (
        psycopg.connect(db_dsn, autocommit=True) as conn,
        pytest.raises(psycopg.Error) as caught,
    ):
        conn.execute("SELECT * FROM queue.run_retention(0)")
    assert "batch_size must be a positive integer, got 0" in str(caught.value)


def test_rescue_cancels_a_job_whose_queueing_lock_a_twin_holds(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        (dead_worker,) = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') RETURNING id"
        ).fetchone()
        (running,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, queueing_lock, worker_id) "
            "VALUES ('communication', 'send-email', 'doing', 'lock-1', %s) RETURNING id",
            (dead_worker,),
        ).fetchone()
        (twin,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, queueing_lock) "
            "VALUES ('communication', 'send-email', 'todo', 'lock-1') RETURNING id"
        ).fetchone()
        (plain,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, worker_id) "
            "VALUES ('communication', 'send-email', 'doing', %s) RETURNING id",
            (dead_worker,),
        ).fetchone()
        (spent,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, attempts, worker_id) "
            "VALUES ('communication', 'send-email', 'doing', 2, %s) RETURNING id",
            (dead_worker,),
        ).fetchone()
        # All three had started (a claimed, unstarted job is returned uncounted).
        conn.execute(
            "SELECT queue.mark_jobs_started(%s, %s)",
            ([running, plain, spent], dead_worker),
        )
        rescued = conn.execute(
            "SELECT job_id, outcome FROM queue.rescue_stalled_jobs(30) ORDER BY job_id"
        ).fetchall()
        states = dict(
            conn.execute("SELECT id, status::text FROM procrastinate_jobs").fetchall()
        )
        attempts = dict(
            conn.execute("SELECT id, attempts FROM procrastinate_jobs").fetchall()
        )
        again = conn.execute(
            "SELECT count(*) FROM queue.rescue_stalled_jobs(30)"
        ).fetchone()
    assert rescued == [(running, "cancelled"), (plain, "rescued"), (spent, "failed")]
    assert states == {
        running: "cancelled",
        twin: "todo",
        plain: "todo",
        spent: "failed",
    }
    assert attempts[plain] == 1 and attempts[spent] == 3
    assert again == (0,)
