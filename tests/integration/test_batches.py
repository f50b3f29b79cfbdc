"""Batches in SQL: jobs counted as one group, with callbacks on completion and on failure."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.workflows import at_once, claim, finish, sql_worker, states, track


@pytest.fixture
def conn(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


def enqueue_batch(conn, jobs, on_complete=None, on_failure=None):
    rows = conn.execute(
        "SELECT batch_id, job_id, duplicate FROM queue.enqueue_batch(%s, %s, %s)"
        " ORDER BY job_index",
        (
            Jsonb(jobs),
            Jsonb(on_complete) if on_complete else None,
            Jsonb(on_failure) if on_failure else None,
        ),
    ).fetchall()
    batch = rows[0][0]
    return batch, [job for _, job, _ in rows]


def progress(conn, batch):
    return conn.execute(
        "SELECT state, total, succeeded, failed, cancelled, pending, percent"
        " FROM queue.batch_status WHERE id = %s",
        (batch,),
    ).fetchone()


def callbacks(conn, batch):
    return conn.execute(
        "SELECT complete_job_id, failure_job_id FROM queue.batches WHERE id = %s",
        (batch,),
    ).fetchone()


def test_a_batch_counts_its_jobs_and_calls_on_complete_when_all_ended(conn):
    worker = sql_worker(conn)
    batch, jobs = enqueue_batch(
        conn,
        [track(f"job-{n}") for n in range(4)],
        on_complete=track("all-done"),
        on_failure=track("one-failed"),
    )
    complete, failure = callbacks(conn, batch)
    assert progress(conn, batch) == ("running", 4, 0, 0, 0, 4, 0)
    assert states(conn, [complete, failure]) == ["held", "held"]
    meta = conn.execute(
        "SELECT args -> 'meta' ->> 'batch_id' FROM procrastinate_jobs WHERE id = %s",
        (complete,),
    ).fetchone()
    assert meta == (str(batch),)
    # Callbacks are not claimed with the batch's jobs.
    assert claim(conn, worker) == jobs
    finish(conn, worker, {jobs[0]: "succeeded", jobs[1]: "succeeded"})
    assert progress(conn, batch) == ("running", 4, 2, 0, 0, 2, 50)
    finish(conn, worker, {jobs[2]: "succeeded", jobs[3]: "succeeded"})
    assert progress(conn, batch) == ("succeeded", 4, 4, 0, 0, 0, 100)
    # Nothing failed: on_failure is cancelled, saying why; on_complete runs.
    assert states(conn, [complete, failure]) == ["todo", "cancelled"]
    assert conn.execute(
        "SELECT error_type, error_message FROM queue.job_outcomes WHERE job_id = %s",
        (failure,),
    ).fetchone() == ("BatchWithoutFailure", f"batch {batch} ended without a failed job")
    assert claim(conn, worker) == [complete]


def test_the_first_failure_calls_on_failure_once_and_the_end_calls_on_complete(conn):
    worker = sql_worker(conn)
    batch, jobs = enqueue_batch(
        conn,
        [track(f"job-{n}") for n in range(3)],
        on_complete=track("all-done"),
        on_failure=track("one-failed"),
    )
    complete, failure = callbacks(conn, batch)
    claim(conn, worker)
    finish(conn, worker, {jobs[0]: "failed"})
    assert states(conn, [complete, failure]) == ["held", "todo"]
    assert claim(conn, worker) == [failure]
    finish(conn, worker, {jobs[1]: "failed"})
    conn.execute("SELECT queue.cancel_job(%s)", (jobs[2],))  # running: asked to abort
    finish(conn, worker, {jobs[2]: "aborted"})
    assert progress(conn, batch) == ("finished_with_failures", 3, 0, 2, 1, 0, 100)
    assert states(conn, [complete]) == ["todo"]


def test_a_job_of_a_batch_failed_by_its_dependency_is_counted(conn):
    worker = sql_worker(conn)
    batch, (child, parent) = enqueue_batch(
        conn,
        [track("child"), track("parent", depends_on=[{"index": 0}])],
        on_complete=track("all-done"),
    )
    (complete, _) = callbacks(conn, batch)
    claim(conn, worker)
    finish(conn, worker, {child: "failed"})
    assert states(conn, [parent, complete]) == ["failed", "todo"]
    assert progress(conn, batch)[:5] == ("finished_with_failures", 2, 0, 2, 0)


def test_a_duplicate_member_that_already_ended_counts_at_once(conn):
    worker = sql_worker(conn)
    (done,) = conn.execute(
        "SELECT job_id FROM queue.enqueue_many(%s)",
        (Jsonb([track("keyed", idempotency_key="already")]),),
    ).fetchone()
    claim(conn, worker)
    conn.execute(
        "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", (done,)
    )
    batch, jobs = enqueue_batch(
        conn,
        [track("keyed", idempotency_key="already"), track("new")],
        on_failure=track("one-failed"),
    )
    assert jobs[0] == done
    _, failure = callbacks(conn, batch)
    assert progress(conn, batch)[:4] == ("running", 2, 0, 1)
    assert states(conn, [failure]) == ["todo"]


@pytest.mark.parametrize(
    ("jobs", "on_complete", "sqlstate", "message"),
    [
        ([], None, "QS009", "a batch needs jobs"),
        ("nope", None, "QS009", "a batch needs jobs"),
        (
            [track("ok")],
            "not an object",
            "QS009",
            "on_complete: a callback must be a job object",
        ),
        (
            [track("ok")],
            {**track("x"), "job_type": "nope"},
            "QS002",
            "on_complete: unknown job type",
        ),
        (
            [track("ok")],
            track("x", depends_on=[1]),
            "QS016",
            "on_complete: a callback waits for its batch",
        ),
        (
            [track("ok"), {**track("bad"), "data": {}}],
            None,
            "QS004",
            "jobs[1]: invalid data",
        ),
        (
            [track("ok")],
            track("x", meta=[1]),
            "QS010",
            "on_complete: meta must be a JSON object",
        ),
    ],
)
def test_a_bad_batch_is_refused_whole(conn, jobs, on_complete, sqlstate, message):
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(
            "SELECT * FROM queue.enqueue_batch(%s, %s)",
            (Jsonb(jobs), Jsonb(on_complete) if on_complete is not None else None),
        )
    assert refused.value.sqlstate == sqlstate
    assert str(refused.value).startswith(message)
    assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)
    assert conn.execute("SELECT count(*) FROM queue.batches").fetchone() == (0,)


def test_a_callbacks_key_is_its_batchs_own(conn):
    conn.execute(
        "SELECT * FROM queue.enqueue_many(%s)",
        (Jsonb([track("cb", idempotency_key="cb")]),),
    )
    first, _ = enqueue_batch(
        conn, [track("ok")], on_complete=track("cb", idempotency_key="cb")
    )
    second, _ = enqueue_batch(
        conn, [track("ok")], on_complete=track("cb", idempotency_key="cb")
    )
    keys = conn.execute(
        "SELECT j.args -> 'meta' ->> 'idempotency_key' FROM queue.batches AS b"
        " JOIN procrastinate_jobs AS j ON j.id = b.complete_job_id ORDER BY b.id"
    ).fetchall()
    assert keys == [(f"@batch-{first}:cb",), (f"@batch-{second}:cb",)]


def test_a_callback_takes_no_run_at(conn):
    with pytest.raises(
        psycopg.Error, match="on_complete: a callback runs when its batch calls it"
    ):
        enqueue_batch(conn, [track("ok")], on_complete=track("cb", run_at="2100-01-01"))


def test_a_batch_sent_again_under_its_key_is_the_same_batch(conn, db_dsn):
    def send(conn, jobs):
        return conn.execute(
            "SELECT batch_id, job_id, duplicate, replayed FROM queue.enqueue_batch(%s, %s,"
            " idempotency_key => 'on-sale-7', request_hash => 'h1') ORDER BY job_index",
            (Jsonb(jobs), Jsonb(track("done"))),
        ).fetchall()

    first = send(conn, [track("a"), track("b")])
    again = send(conn, [track("a"), track("b"), track("c")])
    assert [replayed for *_, replayed in first] == [False, False]
    assert again == [(batch, job, True, True) for batch, job, _, _ in first]
    assert conn.execute("SELECT count(*) FROM queue.batches").fetchone() == (1,)
    assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (3,)
    # Sent from many sessions at once: one batch between them.
    answers = at_once(
        db_dsn,
        6,
        lambda session, n: session.execute(
            "SELECT DISTINCT batch_id FROM queue.enqueue_batch(%s, idempotency_key => 'raced')",
            (Jsonb([track(f"r{n}")]),),
        ).fetchone()[0],
    )
    assert len(set(answers)) == 1


def test_producers_may_create_batches_and_readers_read_them(conn, db_dsn):
    conn.execute("CREATE ROLE batch_producer LOGIN IN ROLE queue_producer")
    conn.execute("CREATE ROLE batch_reader LOGIN IN ROLE queue_reader")
    producer_dsn = db_dsn.replace("postgres@", "batch_producer@", 1)
    reader_dsn = db_dsn.replace("postgres@", "batch_reader@", 1)
    try:
        with psycopg.connect(producer_dsn, autocommit=True) as producer:
            batch, _ = enqueue_batch(producer, [track("ok")], on_complete=track("done"))
        with psycopg.connect(reader_dsn, autocommit=True) as reader:
            assert progress(reader, batch) == ("running", 1, 0, 0, 0, 1, 0)
    finally:
        conn.execute("DROP OWNED BY batch_producer, batch_reader")
        conn.execute("DROP ROLE batch_producer")
        conn.execute("DROP ROLE batch_reader")


def test_jobs_of_one_batch_finishing_in_many_sessions_are_counted_exactly(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = sql_worker(conn)
        batch, jobs = enqueue_batch(
            conn,
            [track(f"job-{n}") for n in range(60)],
            on_complete=track("all-done"),
            on_failure=track("one-failed"),
        )
        complete, failure = callbacks(conn, batch)
        claim(conn, worker)

    def finish_share(session: psycopg.Connection, n: int) -> None:
        for position, job in enumerate(jobs[n::6]):
            finish(
                session, worker, {job: "failed" if position % 5 == 0 else "succeeded"}
            )

    at_once(db_dsn, 6, finish_share)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        assert progress(conn, batch) == (
            "finished_with_failures",
            60,
            48,
            12,
            0,
            0,
            100,
        )
        assert states(conn, [complete, failure]) == ["todo", "todo"]
