"""Unique modes: how long a key stays unique, and whether a duplicate replaces (debounce)."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.workflows import (
    at_once,
    claim,
    enqueue_many,
    finish,
    sql_worker,
    states,
    track,
)


@pytest.fixture
def conn(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


def enqueue_one(conn, name, **fields):
    (row,) = conn.execute(
        "SELECT job_id, duplicate FROM queue.enqueue_many(%s)",
        (Jsonb([track(name, **fields)]),),
    ).fetchall()
    return row


def data_of(conn, job_id):
    return conn.execute(
        "SELECT args -> 'data' ->> 'eventType', scheduled_at FROM procrastinate_jobs WHERE id = %s",
        (job_id,),
    ).fetchone()


def test_keep_is_the_default_a_duplicate_returns_the_first_job_unchanged(conn):
    first, _ = enqueue_one(conn, "v1", idempotency_key="k")
    assert enqueue_one(conn, "v2", idempotency_key="k") == (first, True)
    assert data_of(conn, first)[0] == "v1"


def test_replace_takes_the_new_data_and_run_time_of_a_waiting_job(conn):
    first, _ = enqueue_one(
        conn,
        "v1",
        idempotency_key="k",
        on_duplicate="replace",
        run_at="2100-01-01T00:00:00Z",
    )
    again = enqueue_one(
        conn,
        "v2",
        idempotency_key="k",
        on_duplicate="replace",
        run_at="2100-01-02T00:00:00Z",
    )
    assert again == (first, True)
    name, run_at = data_of(conn, first)
    assert name == "v2"
    assert run_at.isoformat() == "2100-01-02T00:00:00+00:00"
    assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (1,)


def test_replace_leaves_a_running_job_alone(conn):
    worker = sql_worker(conn)
    first, _ = enqueue_one(conn, "v1", idempotency_key="k", on_duplicate="replace")
    claim(conn, worker)
    assert enqueue_one(conn, "v2", idempotency_key="k", on_duplicate="replace") == (
        first,
        True,
    )
    assert data_of(conn, first)[0] == "v1"


def test_replace_of_a_held_job_keeps_it_waiting_for_its_dependencies(conn):
    worker = sql_worker(conn)
    child, parent = enqueue_many(
        conn,
        [track("child"), track("v1", idempotency_key="k", depends_on=[{"index": 0}])],
    )
    enqueue_one(
        conn,
        "v2",
        idempotency_key="k",
        on_duplicate="replace",
        run_at="2100-01-01T00:00:00Z",
    )
    assert states(conn, [parent]) == ["held"]
    claim(conn, worker)
    finish(conn, worker, {child: "succeeded"})
    name, run_at = data_of(conn, parent)
    assert name == "v2"
    assert run_at.isoformat() == "2100-01-01T00:00:00+00:00"


def test_unique_while_active_frees_the_key_when_the_job_ends(conn):
    worker = sql_worker(conn)
    first, _ = enqueue_one(conn, "v1", idempotency_key="k", unique_while="active")
    assert enqueue_one(conn, "v2", idempotency_key="k", unique_while="active") == (
        first,
        True,
    )
    claim(conn, worker)
    assert enqueue_one(conn, "v3", idempotency_key="k", unique_while="active") == (
        first,
        True,
    )
    finish(conn, worker, {first: "succeeded"})
    second, duplicate = enqueue_one(
        conn, "v4", idempotency_key="k", unique_while="active"
    )
    assert not duplicate and second != first
    assert conn.execute(
        "SELECT job_id FROM queue.idempotency_keys WHERE key = 'k'"
    ).fetchone() == (second,)
    # The default mode still sees the key as taken by the new job.
    assert enqueue_one(conn, "v5", idempotency_key="k") == (second, True)


def test_unique_while_waiting_frees_the_key_once_the_job_starts(conn):
    worker = sql_worker(conn)
    first, _ = enqueue_one(conn, "v1", idempotency_key="k", unique_while="waiting")
    assert enqueue_one(conn, "v2", idempotency_key="k", unique_while="waiting") == (
        first,
        True,
    )
    claim(conn, worker)
    second, duplicate = enqueue_one(
        conn, "v3", idempotency_key="k", unique_while="waiting"
    )
    assert not duplicate
    assert states(conn, [first, second]) == ["doing", "todo"]
    # Debounce: unique while waiting, replacing the waiting one's data.
    assert enqueue_one(
        conn, "v4", idempotency_key="k", unique_while="waiting", on_duplicate="replace"
    ) == (second, True)
    assert data_of(conn, second)[0] == "v4"


def test_a_job_whose_key_frees_itself_says_so_in_its_meta(conn):
    job, _ = enqueue_one(
        conn,
        "v1",
        idempotency_key="k",
        unique_while="active",
        meta={"unique_while": "x"},
    )
    meta = conn.execute(
        "SELECT args -> 'meta' ->> 'unique_while' FROM procrastinate_jobs WHERE id = %s",
        (job,),
    ).fetchone()
    assert meta == ("active",)
    plain, _ = enqueue_one(
        conn, "v1", idempotency_key="p", meta={"unique_while": "active"}
    )
    assert conn.execute(
        "SELECT args -> 'meta' ? 'unique_while' FROM procrastinate_jobs WHERE id = %s",
        (plain,),
    ).fetchone() == (False,)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"idempotency_key": "k", "unique_while": "forever"}, "unique_while must be"),
        ({"idempotency_key": "k", "on_duplicate": "merge"}, "unique_while must be"),
        ({"idempotency_key": "k", "on_duplicate": 1}, "unique_while must be"),
        (
            {"unique_while": "active"},
            "unique_while and on_duplicate need an idempotency key",
        ),
    ],
)
def test_a_bad_unique_mode_is_refused(conn, fields, message):
    with pytest.raises(psycopg.Error, match=message) as refused:
        enqueue_one(conn, "v1", **fields)
    assert refused.value.sqlstate == "QS009"


def test_replacing_one_key_from_many_sessions_at_once_leaves_one_job(db_dsn):
    def debounce(session: psycopg.Connection, n: int) -> list[tuple[int, bool]]:
        return [
            enqueue_one(
                session,
                f"v{n}-{round_}",
                idempotency_key="hot",
                on_duplicate="replace",
                unique_while="waiting",
            )
            for round_ in range(10)
        ]

    answers = [answer for rounds in at_once(db_dsn, 8, debounce) for answer in rounds]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        jobs = conn.execute("SELECT id FROM procrastinate_jobs").fetchall()
        assert len(jobs) == 1
        assert {job_id for job_id, _ in answers} == {jobs[0][0]}
        assert sum(not duplicate for _, duplicate in answers) == 1


def test_taking_over_a_freed_key_from_many_sessions_at_once_makes_one_job(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = sql_worker(conn)
        first, _ = enqueue_one(conn, "v1", idempotency_key="k", unique_while="active")
        claim(conn, worker)
        finish(conn, worker, {first: "failed"})
    answers = at_once(
        db_dsn,
        8,
        lambda session, _: enqueue_one(
            session, "v2", idempotency_key="k", unique_while="active"
        ),
    )
    new = {job_id for job_id, duplicate in answers if not duplicate}
    assert len(new) == 1
    assert {job_id for job_id, _ in answers} == new


def test_the_services_meta_keys_are_never_taken_from_a_callers_meta(conn):
    forged = {
        "concurrency_key": "x",
        "base_priority": 10,
        "unique_while": "active",
        "r": 1,
    }
    (batch_job,) = enqueue_many(conn, [track("v1", meta=forged)])
    (fast_job,) = conn.execute(
        "SELECT job_id FROM queue.enqueue('background', 'analytics-track',"
        ' \'{"eventType": "v1"}\', meta => %s)',
        (Jsonb(forged),),
    ).fetchone()
    keyed, _ = enqueue_one(conn, "v1", meta=forged, concurrency_key="venue:1")
    metas = dict(
        conn.execute(
            "SELECT id, (args -> 'meta') - '{enqueued_at,idempotency_key}'::text[]"
            " FROM procrastinate_jobs WHERE id = ANY(%s)",
            ([batch_job, fast_job, keyed],),
        ).fetchall()
    )
    assert metas == {
        batch_job: {"r": 1},
        fast_job: {"r": 1},
        keyed: {"r": 1, "concurrency_key": "venue:1"},
    }
