"""Dependencies, chains, batches and unique modes from Python (app.services.enqueue)."""

import pytest

from app.domain.errors import InvalidDependency, PayloadInvalid
from app.services.enqueue import (
    Dependency,
    JobRequest,
    chain,
    enqueue,
    enqueue_batch,
    enqueue_many,
)


def track(name: str, **fields: object) -> JobRequest:
    return JobRequest(
        queue="background",
        job_type="analytics-track",
        data={"eventType": name},
        **fields,
    )


async def held(conn, job_id: int) -> bool:
    cursor = await conn.execute("SELECT held FROM queue.jobs WHERE id = %s", (job_id,))
    return (await cursor.fetchone())[0]


async def test_a_chain_is_created_in_one_call_each_step_waiting_for_the_last(conn):
    steps = await enqueue_many(
        conn, chain([track("mint"), track("email"), track("sms")])
    )
    ids = [step.job_id for step in steps]
    assert [await held(conn, job_id) for job_id in ids] == [False, True, True]
    cursor = await conn.execute(
        "SELECT job_id, depends_on FROM queue.job_dependencies ORDER BY job_id"
    )
    assert await cursor.fetchall() == [(ids[1], ids[0]), (ids[2], ids[1])]


async def test_enqueue_waits_for_existing_jobs_by_id(conn):
    first = await enqueue(
        conn, queue="background", job_type="analytics-track", data={"eventType": "a"}
    )
    second = await enqueue(
        conn,
        queue="background",
        job_type="analytics-track",
        data={"eventType": "b"},
        depends_on=[first.job_id, Dependency(job_id=first.job_id, on_failure="run")],
    )
    assert await held(conn, second.job_id)
    cursor = await conn.execute(
        "SELECT on_failure FROM queue.job_dependencies WHERE job_id = %s",
        (second.job_id,),
    )
    assert await cursor.fetchall() == [("fail",)]  # named twice: fail wins


async def test_a_missing_dependency_is_refused(conn):
    with pytest.raises(InvalidDependency, match="depends_on job 424242 does not exist"):
        await enqueue(
            conn,
            queue="background",
            job_type="analytics-track",
            data={"eventType": "b"},
            depends_on=[424242],
        )


def test_a_dependency_names_exactly_one_job():
    with pytest.raises(ValueError, match="exactly one"):
        Dependency()
    with pytest.raises(ValueError, match="exactly one"):
        Dependency(job_id=1, index=0)


async def test_enqueue_batch_returns_the_batch_and_checks_callbacks_first(conn):
    batch = await enqueue_batch(
        conn,
        [track("a"), track("b")],
        on_complete=track("done"),
        owner={"user_id": "u-1"},
    )
    cursor = await conn.execute(
        "SELECT total, complete_job_id IS NOT NULL, owner FROM queue.batches WHERE id = %s",
        (batch.batch_id,),
    )
    assert await cursor.fetchone() == (2, True, {"user_id": "u-1"})
    assert len(batch.jobs) == 2
    with pytest.raises(PayloadInvalid, match="on_failure: "):
        await enqueue_batch(
            conn,
            [track("a")],
            on_failure=JobRequest(
                queue="background", job_type="analytics-track", data={}
            ),
        )


async def test_unique_modes_from_python(conn):
    first = await enqueue(
        conn,
        queue="background",
        job_type="analytics-track",
        data={"eventType": "v1"},
        idempotency_key="debounced",
        on_duplicate="replace",
    )
    again = await enqueue(
        conn,
        queue="background",
        job_type="analytics-track",
        data={"eventType": "v2"},
        idempotency_key="debounced",
        on_duplicate="replace",
    )
    assert (again.job_id, again.duplicate) == (first.job_id, True)
    cursor = await conn.execute(
        "SELECT args -> 'data' ->> 'eventType' FROM procrastinate_jobs WHERE id = %s",
        (first.job_id,),
    )
    assert await cursor.fetchone() == ("v2",)
