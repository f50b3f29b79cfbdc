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


def test_a_job_writes_only_the_events_features_read(db_dsn):
    # One 'started' row per claim, written by the claim; nothing at the finish
    # (its time is the outcome's); 'deferred' only for a job deferred outside
    # queue.enqueue, which carries no enqueued_at.
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
        conn.execute(
            "SELECT queue.finish_jobs(%s, '{succeeded,failed}', '{NULL,Boom}', '{NULL,boom}', "
            "'{NULL,NULL}', ARRAY[now(), now()], ARRAY[now(), now()], %s)",
            ([enqueued, deferred], [worker, worker]),
        )
        events = conn.execute(
            "SELECT job_id, type::text FROM procrastinate_events ORDER BY job_id, id"
        ).fetchall()
        finished = conn.execute(
            "SELECT id, finished_at IS NOT NULL FROM queue.jobs ORDER BY id"
        ).fetchall()
    assert claimed == [enqueued, deferred]
    assert events == [
        (enqueued, "started"),
        (deferred, "deferred"),
        (deferred, "started"),
    ]
    assert finished == [(enqueued, True), (deferred, True)]
