"""Dependencies and batches run by several worker processes at once."""

import itertools
import random

import pytest
from psycopg.types.json import Jsonb

from tests.helpers.workers import prepare_test_tasks, query, wait_for, worker_process

QUEUE = "communication"
TYPE = "test-record-communication"


@pytest.fixture
def dsn(db_dsn):
    prepare_test_tasks(db_dsn)
    query(db_dsn, "UPDATE queue.queues SET concurrency = 3 WHERE name = %s", (QUEUE,))
    return db_dsn


def job(value: str, rng: random.Random, **fields: object) -> dict[str, object]:
    return {
        "queue": QUEUE,
        "job_type": TYPE,
        "data": {"value": value, "sleep": rng.uniform(0, 0.08), "mark_start": True},
        **fields,
    }


def enqueue_many(dsn: str, jobs: list[dict[str, object]]) -> list[int]:
    rows = query(
        dsn,
        "SELECT job_id FROM queue.enqueue_many(%s) ORDER BY job_index",
        (Jsonb(jobs),),
    )
    return [int(row[0]) for row in rows]  # type: ignore[call-overload]


def test_three_processes_run_flows_chains_and_batches_in_dependency_order(
    dsn, tmp_path
):
    rng = random.Random(11)  # noqa: S311 - seeded test timings, not secrets
    flows = []
    for flow in range(6):
        children = [job(f"flow{flow}-child{n}", rng) for n in range(5)]
        parent = job(
            f"flow{flow}-parent", rng, depends_on=[{"index": n} for n in range(5)]
        )
        flows.append(enqueue_many(dsn, [*children, parent]))
    chains = []
    for chain in range(3):
        steps = [
            job(
                f"chain{chain}-step{n}",
                rng,
                **({"depends_on": [{"index": n - 1}]} if n else {}),
            )
            for n in range(6)
        ]
        chains.append(enqueue_many(dsn, steps))
    # One child fails for good: its strict parent fails unrun, its lenient one runs.
    failing = job("failing-child", rng)
    failing["data"] = {**failing["data"], "permanent": True}  # type: ignore[dict-item]
    failing_child, strict, lenient = enqueue_many(
        dsn,
        [
            failing,
            job("strict-parent", rng, depends_on=[{"index": 0}]),
            job("lenient-parent", rng, depends_on=[{"index": 0, "on_failure": "run"}]),
        ],
    )
    rows = query(
        dsn,
        "SELECT batch_id, job_id FROM queue.enqueue_batch(%s, %s) ORDER BY job_index",
        (
            Jsonb([job(f"batch-{n}", rng) for n in range(30)]),
            Jsonb(job("batch-done", rng)),
        ),
    )
    batch = rows[0][0]
    members = [row[1] for row in rows]
    (complete,) = query(
        dsn, "SELECT complete_job_id FROM queue.batches WHERE id = %s", (batch,)
    )[0]

    with worker_process(dsn, tmp_path, "--processes", "3", "--queues", QUEUE):
        wait_for(
            lambda: (
                query(
                    dsn,
                    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s"
                    " AND status IN ('todo', 'doing')",
                    (QUEUE,),
                )
                == [(0,)]
            ),
            timeout=120,
            what="every flow, chain and batch to finish",
        )
        workers = query(dsn, "SELECT count(DISTINCT worker_id) FROM queue.job_outcomes")

    marks = query(dsn, "SELECT id, job_id, value FROM test_side_effects ORDER BY id")
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for mark_id, job_id, value in marks:
        (starts if value == "start" else ends).setdefault(job_id, []).append(mark_id)  # type: ignore[arg-type]

    def ran_after(job_id: int, dependencies: list[int]) -> None:
        assert len(starts[job_id]) == 1, (
            f"job {job_id} started {len(starts[job_id])} times"
        )
        for dependency in dependencies:
            assert max(ends[dependency]) < starts[job_id][0], (
                f"job {job_id} started before its dependency {dependency} ended"
            )

    assert workers[0][0] >= 2
    for *children, parent in flows:
        ran_after(parent, children)
    for steps in chains:
        for before, after in itertools.pairwise(steps):
            ran_after(after, [before])
    ran_after(complete, members)
    ran_after(lenient, [])
    assert strict not in starts
    assert query(
        dsn,
        "SELECT status::text FROM procrastinate_jobs WHERE id = ANY(%s) ORDER BY id",
        ([failing_child, strict],),
    ) == [("failed",), ("failed",)]
    assert query(
        dsn,
        "SELECT state, succeeded, pending FROM queue.batch_status WHERE id = %s",
        (batch,),
    ) == [("succeeded", 30, 0)]
    # Every job ran once (the failing child once: no retries for a permanent error).
    assert all(len(times) == 1 for times in starts.values())


def test_a_job_that_takes_over_a_freed_key_runs_instead_of_answering_with_the_old_result(
    dsn, tmp_path
):
    def add(value: str, **fields: object) -> int:
        return enqueue_many(
            dsn,
            [
                {
                    "queue": QUEUE,
                    "job_type": TYPE,
                    "data": {"value": value},
                    "idempotency_key": "nightly-summary",
                    **fields,
                }
            ],
        )[0]

    def done(job_id: int) -> bool:
        return query(
            dsn, "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job_id,)
        ) == [("succeeded",)]

    with worker_process(dsn, tmp_path, "--queues", QUEUE):
        first = add("first", unique_while="active")
        wait_for(lambda: done(first), what="the first job")
        second = add("second", unique_while="active")
        wait_for(lambda: done(second), what="the second job")
        # The default mode: the key's success answers a later job's claim.
        query(dsn, "DELETE FROM queue.idempotency_keys")
        third = add("third")
        wait_for(lambda: done(third), what="the third job")
    ran = query(dsn, "SELECT job_id, value FROM test_side_effects ORDER BY id")
    assert ran == [(first, "first"), (second, "second")]
