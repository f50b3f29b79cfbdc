"""The claim reads its batch, not the backlog: counted by the table's own statistics."""

import psycopg


def _scans(conn):
    conn.execute("SELECT pg_stat_force_next_flush()")
    row = conn.execute(
        "SELECT seq_scan, idx_tup_fetch FROM pg_stat_user_tables WHERE relname = 'procrastinate_jobs'"
    ).fetchone()
    assert row is not None
    return row


def test_fetch_jobs_reads_about_its_batch_whatever_the_backlog(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            """
            INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock, args)
            SELECT 'background', 'analytics-track', CASE WHEN i <= 50 THEN 5 ELSE 3 END,
                   CASE WHEN i <= 50 THEN 'lock-' || (i % 10) END,
                   jsonb_build_object('data', jsonb_build_object('eventType', 'e'), 'meta', '{}'::jsonb)
            FROM generate_series(1, 20000) AS i
            """
        )
        conn.execute("ANALYZE procrastinate_jobs")
        (worker,) = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now()) RETURNING id"
        ).fetchone()
        conn.execute("SELECT pg_stat_reset()")
        seq_before, read_before = _scans(conn)

        claimed = conn.execute(
            "SELECT id, lock FROM queue.fetch_jobs('background', %s, 100)", (worker,)
        ).fetchall()

        seq_after, read_after = _scans(conn)
    # One job per lock: 10 locked jobs and 90 without a lock.
    assert len(claimed) == 100
    assert len({lock for _, lock in claimed if lock is not None}) == 10
    assert seq_after == seq_before
    # The locked candidates each look up their lock; nothing near the 20,000 rows.
    assert read_after - read_before < 2_000
