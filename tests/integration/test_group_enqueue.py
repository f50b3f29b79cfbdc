"""app.services.group_enqueue: concurrent single enqueues share transactions, not fates."""

import asyncio

import pytest

from app.db.pool import create_pool
from app.domain.errors import UnknownJobType, ValueRefused
from app.services.enqueue import JobRequest
from app.services.group_enqueue import MAX_IN_FLIGHT, GroupEnqueuer


def event(n: int, key: str | None = None) -> JobRequest:
    return JobRequest(
        queue="background",
        job_type="analytics-track",
        data={"eventType": "test", "properties": {"n": n}},
        idempotency_key=key,
        meta={"request_id": f"r-{n}"},
    )


@pytest.fixture
async def enqueuer(db_dsn):
    async with create_pool(db_dsn, min_size=1, max_size=4) as pool:
        yield GroupEnqueuer(pool)


async def stored_args(conn, job_id: int):
    cursor = await conn.execute(
        "SELECT args FROM procrastinate_jobs WHERE id = %s", (job_id,)
    )
    row = await cursor.fetchone()
    return row[0] if row else None


async def test_group_enqueue_writes_concurrent_jobs_in_fewer_transactions(
    enqueuer, conn
):
    results = await asyncio.gather(*(enqueuer.enqueue(event(n)) for n in range(60)))

    assert len({r.job_id for r in results}) == 60
    for n, result in enumerate(results):
        args = await stored_args(conn, result.job_id)
        assert args["data"]["properties"] == {"n": n}  # each caller got its own job
        assert args["meta"]["request_id"] == f"r-{n}"
    cursor = await conn.execute(
        "SELECT count(DISTINCT xmin::text) FROM procrastinate_jobs"
    )
    (transactions,) = await cursor.fetchone()
    # The first MAX_IN_FLIGHT calls go alone; the rest wait and go together.
    assert transactions <= MAX_IN_FLIGHT + 2


async def test_group_enqueue_refused_job_fails_alone(enqueuer, conn):
    bad = JobRequest(queue="background", job_type="no-such-type", data={})
    calls = [enqueuer.enqueue(event(n)) for n in range(10)]
    calls.insert(5, enqueuer.enqueue(bad))
    calls += [enqueuer.enqueue(event(n)) for n in range(10, 20)]

    outcomes = await asyncio.gather(*calls, return_exceptions=True)

    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(refused) == 1
    assert isinstance(refused[0], UnknownJobType)
    assert "no-such-type" in str(refused[0])
    assert outcomes[5] is refused[0]
    cursor = await conn.execute("SELECT count(*) FROM procrastinate_jobs")
    assert (await cursor.fetchone())[0] == 20


async def test_group_enqueue_same_key_in_one_batch_names_one_job(enqueuer, conn):
    # Enough concurrent calls that several share a batch.
    results = await asyncio.gather(
        *(enqueuer.enqueue(event(n, key="same-key")) for n in range(30))
    )

    assert len({r.job_id for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1
    cursor = await conn.execute("SELECT count(*) FROM procrastinate_jobs")
    assert (await cursor.fetchone())[0] == 1


async def test_group_enqueue_reports_an_unreachable_database_to_every_caller(db_dsn):
    async with create_pool(db_dsn, min_size=1, max_size=2) as pool:
        enqueuer = GroupEnqueuer(pool)
    # The pool is closed: every waiting caller hears it, none hangs.
    outcomes = await asyncio.wait_for(
        asyncio.gather(
            *(enqueuer.enqueue(event(n)) for n in range(5)), return_exceptions=True
        ),
        timeout=10,
    )
    assert all(isinstance(o, Exception) for o in outcomes)


async def test_a_value_the_database_cannot_hold_fails_only_its_own_request(
    enqueuer, conn
):
    # U+0000 in a string: jsonb refuses it (SQLSTATE 22P05), which is no
    # refusal of ours. It used to fail every request of its group with 500.
    poisoned = JobRequest(
        queue="background", job_type="analytics-track", data={"eventType": "x\x00"}
    )
    calls = [enqueuer.enqueue(event(n)) for n in range(50)]
    calls.insert(25, enqueuer.enqueue(poisoned))
    calls += [enqueuer.enqueue(event(n)) for n in range(50, 100)]

    results = await asyncio.gather(*calls, return_exceptions=True)

    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1 and isinstance(refused[0], ValueRefused)
    assert isinstance(results[25], ValueRefused)
    cursor = await conn.execute("SELECT count(*) FROM procrastinate_jobs")
    assert await cursor.fetchone() == (100,)
