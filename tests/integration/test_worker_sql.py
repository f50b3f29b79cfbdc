"""The worker's SQL functions, on their own: claims and late completions."""

import psycopg


def test_finish_jobs_leaves_a_job_another_worker_reclaimed(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        first, second = (
            conn.execute(
                "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
            ).fetchone()[0]
            for _ in range(2)
        )
        (reclaimed,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, worker_id) "
            "VALUES ('money', 'refund-process', 'doing', %s) RETURNING id",
            (second,),
        ).fetchone()
        (orphaned,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, status, worker_id) "
            "VALUES ('money', 'refund-process', 'doing', NULL) RETURNING id"
        ).fetchone()
        completed = conn.execute(
            "SELECT queue.finish_jobs(%s, '{succeeded,succeeded}', '{NULL,NULL}', '{NULL,NULL}', "
            "'{NULL,NULL}', ARRAY[now(), now()], ARRAY[now(), now()], %s)",
            ([reclaimed, orphaned], [first, first]),
        ).fetchone()
        states = dict(
            conn.execute("SELECT id, status::text FROM procrastinate_jobs").fetchall()
        )
        recorded = conn.execute(
            "SELECT job_id, worker_id FROM queue.job_outcomes"
        ).fetchall()
    assert completed == (1,)
    assert states == {reclaimed: "doing", orphaned: "succeeded"}
    assert recorded == [(orphaned, first)]


def test_fetch_jobs_claims_in_priority_order_one_per_lock_and_none_when_paused(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        (worker,) = conn.execute(
            "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
        ).fetchone()
        conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, priority, lock) VALUES "
            "('money', 'refund-process', 1, NULL), ('money', 'refund-process', 9, 'L'), "
            "('money', 'refund-process', 5, 'L'), ('money', 'refund-process', 7, NULL), "
            "('communication', 'send-email', 10, NULL)"
        )
        conn.execute("UPDATE queue.queues SET paused = true WHERE name = 'money'")
        paused = conn.execute(
            "SELECT count(*) FROM queue.fetch_jobs('money', %s, 10)", (worker,)
        ).fetchone()
        conn.execute("UPDATE queue.queues SET paused = false WHERE name = 'money'")
        claimed = conn.execute(
            "SELECT priority, lock FROM queue.fetch_jobs('money', %s, 10) ORDER BY priority DESC",
            (worker,),
        ).fetchall()
        again = conn.execute(
            "SELECT count(*) FROM queue.fetch_jobs('money', %s, 10)", (worker,)
        ).fetchone()
    assert paused == (0,)
    # The second job of lock L waits while the first runs; other queues are untouched.
    assert claimed == [(9, "L"), (7, None), (1, None)]
    assert again == (0,)


def test_a_job_writes_only_the_rows_features_read(db_dsn):
    # No event row per transition: 'deferred' only for a job deferred outside
    # queue.enqueue (which carries no enqueued_at); a start mark while the
    # attempt runs, gone with its completion, whose outcome keeps the times.
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        (worker,) = conn.execute(
            "INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id"
        ).fetchone()
        (enqueued,) = conn.execute(
            "SELECT job_id FROM queue.enqueue('communication', 'send-sms', %s)",
            (
                '{"to": "+14155550100", "message": "Doors open at 7", "template": "doors"}',
            ),
        ).fetchone()
        (deferred,) = conn.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args) "
            "VALUES ('communication', 'send-sms', '{}') RETURNING id"
        ).fetchone()
        claimed = sorted(
            row[0]
            for row in conn.execute(
                "SELECT id FROM queue.fetch_jobs('communication', %s, 10)", (worker,)
            )
        )
        conn.execute("SELECT queue.mark_jobs_started(%s, %s)", ([enqueued], worker))
        running = conn.execute(
            "SELECT id, started_at IS NOT NULL FROM queue.jobs ORDER BY id"
        ).fetchall()
        conn.execute(
            "SELECT queue.finish_jobs(%s, '{succeeded,failed}', '{NULL,Boom}', '{NULL,boom}', "
            "'{NULL,NULL}', ARRAY[now(), now()], ARRAY[now(), now()], %s)",
            ([enqueued, deferred], [worker, worker]),
        )
        events = conn.execute(
            "SELECT job_id, type::text FROM procrastinate_events ORDER BY job_id, id"
        ).fetchall()
        marks = conn.execute("SELECT count(*) FROM queue.job_starts").fetchone()
        # Finished jobs let go of their worker (its outcome keeps it), so the
        # worker's row goes without touching its history.
        held = conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE worker_id IS NOT NULL"
        ).fetchone()
        finished = conn.execute(
            "SELECT id, started_at IS NOT NULL, finished_at IS NOT NULL FROM queue.jobs ORDER BY id"
        ).fetchall()
    assert claimed == [enqueued, deferred]
    assert running == [(enqueued, True), (deferred, False)]
    assert events == [(deferred, "deferred")]
    assert marks == (0,)
    assert held == (0,)
    assert finished == [(enqueued, True, True), (deferred, True, True)]


def test_rescue_counts_started_attempts_and_returns_unstarted_claims(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        (dead,) = conn.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat) "
            "VALUES (now() - interval '1 hour') RETURNING id"
        ).fetchone()
        started, unstarted = (
            conn.execute(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, status, worker_id) "
                "VALUES ('money', 'refund-process', 'doing', %s) RETURNING id",
                (dead,),
            ).fetchone()[0]
            for _ in range(2)
        )
        conn.execute("SELECT queue.mark_jobs_started(%s, %s)", ([started], dead))
        rescued = {
            job_id: outcome
            for job_id, _, outcome in conn.execute(
                "SELECT * FROM queue.rescue_stalled_jobs(30)"
            )
        }
        jobs = {
            job_id: (status, attempts, worker)
            for job_id, status, attempts, worker in conn.execute(
                "SELECT id, status::text, attempts, worker_id FROM procrastinate_jobs"
            )
        }
        outcomes = conn.execute(
            "SELECT job_id, status FROM queue.job_outcomes"
        ).fetchall()
        marks = conn.execute("SELECT count(*) FROM queue.job_starts").fetchone()
    assert rescued == {started: "rescued", unstarted: "returned"}
    assert jobs[started][:2] == ("todo", 1)
    assert jobs[unstarted] == ("todo", 0, None)
    assert outcomes == [(started, "rescued")]
    assert marks == (0,)
