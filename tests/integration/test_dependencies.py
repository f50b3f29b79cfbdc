"""Job dependencies in SQL: held until their dependencies end, by each one's failure policy."""

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


def test_a_chain_runs_step_after_step(conn):
    worker = sql_worker(conn)
    first, second, third = enqueue_many(
        conn,
        [
            track("first"),
            track("second", depends_on=[{"index": 0}]),
            track("third", depends_on=[{"index": 1}]),
        ],
    )
    assert states(conn, [first, second, third]) == ["todo", "held", "held"]
    assert claim(conn, worker) == [first]
    finish(conn, worker, {first: "succeeded"})
    assert states(conn, [second, third]) == ["todo", "held"]
    assert claim(conn, worker) == [second]
    finish(conn, worker, {second: "succeeded"})
    assert claim(conn, worker) == [third]


def test_a_parent_runs_after_all_its_children_in_any_order(conn):
    worker = sql_worker(conn)
    *children, parent = enqueue_many(
        conn,
        [track(f"child-{n}") for n in range(3)]
        + [track("parent", depends_on=[{"index": n} for n in range(3)])],
    )
    assert claim(conn, worker) == children
    finish(conn, worker, {children[2]: "succeeded"})
    finish(conn, worker, {children[0]: "succeeded"})
    waits = conn.execute(
        "SELECT remaining FROM queue.job_waits WHERE job_id = %s", (parent,)
    ).fetchone()
    assert waits == (1,)
    assert states(conn, [parent]) == ["held"]
    finish(conn, worker, {children[1]: "succeeded"})
    assert claim(conn, worker) == [parent]


def test_a_failed_dependency_fails_its_dependant_and_the_failure_cascades(conn):
    worker = sql_worker(conn)
    child, parent, grandparent = enqueue_many(
        conn,
        [
            track("child"),
            track("parent", depends_on=[{"index": 0}]),
            track("grandparent", depends_on=[{"index": 1}]),
        ],
    )
    claim(conn, worker)
    finish(conn, worker, {child: "failed"})
    assert states(conn, [child, parent, grandparent]) == ["failed"] * 3
    reasons = conn.execute(
        "SELECT job_id, status, error_type, error_message FROM queue.job_outcomes"
        " WHERE job_id = ANY(%s) ORDER BY job_id",
        ([parent, grandparent],),
    ).fetchall()
    assert reasons == [
        (parent, "failed", "DependencyFailed", f"dependency job {child} failed"),
        (grandparent, "failed", "DependencyFailed", f"dependency job {parent} failed"),
    ]
    # A failed dependant is a dead letter like any other: visible, retryable.
    assert conn.execute(
        "SELECT count(*) FROM queue.failures WHERE id = ANY(%s)",
        ([parent, grandparent],),
    ).fetchone() == (2,)


def test_a_run_anyway_dependency_releases_its_dependant_with_the_outcomes(conn):
    worker = sql_worker(conn)
    ok, bad, parent = enqueue_many(
        conn,
        [
            track("ok"),
            track("bad"),
            track(
                "report",
                depends_on=[
                    {"index": 0, "on_failure": "run"},
                    {"index": 1, "on_failure": "run"},
                ],
            ),
        ],
    )
    claim(conn, worker)
    finish(conn, worker, {ok: "succeeded", bad: "failed"})
    assert claim(conn, worker) == [parent]
    outcomes = conn.execute(
        "SELECT depends_on, on_failure, outcome FROM queue.job_dependencies"
        " WHERE job_id = %s ORDER BY depends_on",
        (parent,),
    ).fetchall()
    assert outcomes == [(ok, "run", "succeeded"), (bad, "run", "failed")]


def test_a_cancelled_dependency_cancels_fail_dependants_and_releases_run_ones(conn):
    child, strict, lenient = enqueue_many(
        conn,
        [
            track("child"),
            track("strict", depends_on=[{"index": 0}]),
            track("lenient", depends_on=[{"index": 0, "on_failure": "run"}]),
        ],
    )
    assert conn.execute("SELECT queue.cancel_job(%s)", (child,)).fetchone() == (
        "cancelled",
    )
    assert states(conn, [child, strict, lenient]) == ["cancelled", "cancelled", "todo"]
    reason = conn.execute(
        "SELECT error_type, error_message FROM queue.job_outcomes WHERE job_id = %s",
        (strict,),
    ).fetchone()
    assert reason == ("DependencyCancelled", f"dependency job {child} was cancelled")


def test_cancelling_a_held_job_cancels_what_waits_for_it(conn):
    child, parent, grandparent = enqueue_many(
        conn,
        [
            track("child"),
            track("parent", depends_on=[{"index": 0}]),
            track("grandparent", depends_on=[{"index": 1}]),
        ],
    )
    conn.execute("SELECT queue.cancel_job(%s)", (parent,))
    assert states(conn, [child, parent, grandparent]) == [
        "todo",
        "cancelled",
        "cancelled",
    ]
    assert conn.execute(
        "SELECT count(*) FROM queue.job_waits WHERE job_id = ANY(%s)",
        ([parent, grandparent],),
    ).fetchone() == (0,)


def test_a_dependency_on_an_existing_job_by_id_and_one_that_already_ended(conn):
    worker = sql_worker(conn)
    (running,) = enqueue_many(conn, [track("running")])
    (done,) = enqueue_many(conn, [track("done")])
    claim(conn, worker)
    finish(conn, worker, {done: "succeeded"})  # deleted: its queue keeps no success
    assert states(conn, [done]) == ["gone"]
    (waiting,) = enqueue_many(
        conn, [track("after", depends_on=[running, {"job_id": done}])]
    )
    # The succeeded one counted at once, from its outcome row.
    assert conn.execute(
        "SELECT remaining FROM queue.job_waits WHERE job_id = %s", (waiting,)
    ).fetchone() == (1,)
    finish(conn, worker, {running: "succeeded"})
    assert states(conn, [waiting]) == ["todo"]


def test_a_job_waits_for_a_dependency_that_failed_before_it_was_enqueued(conn):
    worker = sql_worker(conn)
    (failed,) = enqueue_many(conn, [track("failed")])
    claim(conn, worker)
    finish(conn, worker, {failed: "failed"})
    strict, lenient = enqueue_many(
        conn,
        [
            track("strict", depends_on=[failed]),
            track("lenient", depends_on=[{"job_id": failed, "on_failure": "run"}]),
        ],
    )
    assert states(conn, [strict, lenient]) == ["failed", "todo"]


def test_a_dependant_keeps_its_run_at_for_after_its_dependencies(conn):
    worker = sql_worker(conn)
    child, parent = enqueue_many(
        conn,
        [
            track("child"),
            track("parent", depends_on=[{"index": 0}], run_at="2100-01-01T00:00:00Z"),
        ],
    )
    claim(conn, worker)
    finish(conn, worker, {child: "succeeded"})
    scheduled = conn.execute(
        "SELECT scheduled_at = '2100-01-01T00:00:00Z' FROM procrastinate_jobs WHERE id = %s",
        (parent,),
    ).fetchone()
    assert scheduled == (True,)


def test_explain_job_names_the_dependency_it_waits_for(conn):
    child, _other, parent = enqueue_many(
        conn,
        [
            track("child"),
            track("other"),
            track("parent", depends_on=[{"index": 0}, {"index": 1}]),
        ],
    )
    reasons = conn.execute(
        "SELECT reason, detail, blocking_job_id FROM queue.explain_job(%s)", (parent,)
    ).fetchall()
    assert reasons[0] == (
        "dependencies",
        f"waits for job {child} (waiting); 0 of its 2 dependencies ended",
        child,
    )
    assert "scheduled" not in [reason for reason, _, _ in reasons]
    view = conn.execute(
        "SELECT state, held, waiting_for, scheduled_at FROM queue.jobs WHERE id = %s",
        (parent,),
    ).fetchone()
    assert view == ("todo", True, 2, None)


def test_a_duplicate_resolves_an_index_dependency_to_the_existing_job(conn):
    worker = sql_worker(conn)
    (existing,) = enqueue_many(conn, [track("keyed", idempotency_key="k-1")])
    _, parent = enqueue_many(
        conn,
        [
            track("keyed", idempotency_key="k-1"),
            track("parent", depends_on=[{"index": 0}]),
        ],
    )
    assert conn.execute(
        "SELECT depends_on FROM queue.job_dependencies WHERE job_id = %s", (parent,)
    ).fetchall() == [(existing,)]
    claim(conn, worker)
    finish(conn, worker, {existing: "succeeded"})
    assert states(conn, [parent]) == ["todo"]


@pytest.mark.parametrize(
    ("depends_on", "message"),
    [
        ("not a list", "depends_on must be an array"),
        ([{"index": 1}], "depends_on must be an array"),  # itself
        ([{"index": 5}], "depends_on must be an array"),  # a later job
        ([{"index": -1}], "depends_on must be an array"),
        ([{"index": 0, "job_id": 1}], "depends_on must be an array"),
        ([{"index": 0, "on_failure": "explode"}], "depends_on must be an array"),
        ([{"index": 0, "extra": True}], "depends_on must be an array"),
        ([0], "depends_on must be an array"),
        ([1.5], "depends_on must be an array"),
        (["1"], "depends_on must be an array"),
        ([{"index": {"index": 0}}], "depends_on must be an array"),
        ([{"index": 0}] * 1001, "depends_on must be an array"),
        ([999999999], "depends_on job 999999999 does not exist"),
    ],
)
def test_a_bad_depends_on_is_refused_with_its_index_and_nothing_is_enqueued(
    conn, depends_on, message
):
    with pytest.raises(psycopg.Error) as refused:
        enqueue_many(conn, [track("first"), track("second", depends_on=depends_on)])
    assert refused.value.sqlstate == "QS016"
    assert str(refused.value).startswith(f"jobs[1]: {message}")
    assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)


def test_a_job_of_the_same_call_must_be_named_by_index(conn):
    (next_id,) = conn.execute(
        "SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END FROM procrastinate_jobs_id_seq"
    ).fetchone()
    # A caller guessing the ids its jobs will get cannot build a cycle.
    with pytest.raises(psycopg.Error, match="is a job of this call") as refused:
        enqueue_many(
            conn,
            [
                track("first", depends_on=[next_id + 1]),
                track("second", depends_on=[next_id]),
            ],
        )
    assert refused.value.sqlstate == "QS016"
    assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (0,)


def test_dependencies_from_queue_enqueue(conn):
    (child,) = enqueue_many(conn, [track("child")])
    (parent, duplicate) = conn.execute(
        "SELECT job_id, duplicate FROM queue.enqueue('background', 'analytics-track',"
        ' \'{"eventType": "parent"}\', depends_on => %s)',
        (Jsonb([child]),),
    ).fetchone()
    assert not duplicate
    assert states(conn, [parent]) == ["held"]


def test_a_dependency_that_ends_while_its_dependant_commits_is_counted_by_the_rescue(
    conn, db_dsn
):
    # The enqueue reads the dependency as running; it ends in another
    # transaction before the enqueue commits: neither saw the other's rows.
    worker = sql_worker(conn)
    (child,) = enqueue_many(conn, [track("child")])
    claim(conn, worker)
    with psycopg.connect(db_dsn) as producer:
        (parent,) = enqueue_many(producer, [track("parent", depends_on=[child])])
        finish(conn, worker, {child: "succeeded"})
        producer.commit()
    assert states(conn, [parent]) == ["held"]
    counted = conn.execute("SELECT queue.resolve_missed_endings()").fetchone()
    assert counted == (1,)
    assert states(conn, [parent]) == ["todo"]
    assert conn.execute("SELECT queue.resolve_missed_endings()").fetchone() == (0,)


def test_children_finishing_at_once_in_many_sessions_release_their_parent_once(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        worker = sql_worker(conn)
        *children, parent = enqueue_many(
            conn,
            [track(f"child-{n}") for n in range(40)]
            + [track("parent", depends_on=[{"index": n} for n in range(40)])],
        )
        claim(conn, worker)

    def finish_share(session: psycopg.Connection, n: int) -> None:
        for job in children[n::8]:
            finish(session, worker, {job: "succeeded"})

    at_once(db_dsn, 8, finish_share)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        assert states(conn, [parent]) == ["todo"]
        resolved = conn.execute(
            "SELECT count(*) FROM queue.job_dependencies WHERE job_id = %s AND outcome = 'succeeded'",
            (parent,),
        ).fetchone()
        assert resolved == (40,)
        assert conn.execute(
            "SELECT count(*) FROM queue.job_waits WHERE job_id = %s", (parent,)
        ).fetchone() == (0,)


def test_retrying_a_failed_chain_runs_it_in_order_again(conn):
    worker = sql_worker(conn)
    child, parent = enqueue_many(
        conn, [track("child"), track("parent", depends_on=[{"index": 0}])]
    )
    claim(conn, worker)
    finish(conn, worker, {child: "failed"})
    assert states(conn, [child, parent]) == ["failed", "failed"]
    assert conn.execute("SELECT queue.retry_failed_jobs('background')").fetchone() == (
        2,
    )
    # The dependant waits for its retried dependency again.
    assert states(conn, [child, parent]) == ["todo", "held"]
    assert claim(conn, worker) == [child]
    finish(conn, worker, {child: "succeeded"})
    assert claim(conn, worker) == [parent]


def test_retrying_only_the_dependant_runs_it_without_its_failed_dependency(conn):
    worker = sql_worker(conn)
    child, parent = enqueue_many(
        conn, [track("child"), track("parent", depends_on=[{"index": 0}])]
    )
    claim(conn, worker)
    finish(conn, worker, {child: "failed"})
    conn.execute("SELECT queue.retry_job(%s)", (parent,))
    assert states(conn, [child, parent]) == ["failed", "todo"]
