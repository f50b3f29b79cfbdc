"""Priority aging: a low-priority job that has waited long enough is claimed
before younger high-priority ones; raises follow the wait from the job's own
priority, so repeated and racing runs raise it once; a queue can turn it off."""

import asyncio
import json

import psycopg

from tests.helpers.api import api_client, auth


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def refund(dsn, n: int, *, priority: int, waited_s: float = 0) -> int:
    [(job_id,)] = sql(
        dsn,
        "SELECT job_id FROM queue.enqueue('money', 'refund-process', %s, %s)",
        (json.dumps({"transactionId": f"tx-{n}"}), priority),
    )
    if waited_s:
        # As if enqueued that long ago.
        sql(
            dsn,
            "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{meta,enqueued_at}', "
            "to_jsonb(now() - make_interval(secs => %s))) WHERE id = %s",
            (waited_s, job_id),
        )
    return job_id


def priority_of(dsn, job_id: int) -> int:
    return sql(dsn, "SELECT priority FROM procrastinate_jobs WHERE id = %s", (job_id,))[
        0
    ][0]


def claim(dsn, n: int) -> list[int]:
    [(worker,)] = sql(dsn, "SELECT procrastinate_register_worker_v1()")
    rows = sql(
        dsn, "SELECT id, priority FROM queue.fetch_jobs('money', %s, %s)", (worker, n)
    )
    return [job_id for job_id, _ in sorted(rows, key=lambda r: (-r[1], r[0]))]


def test_a_job_that_waited_is_claimed_before_younger_high_priority_ones(db_dsn):
    sql(db_dsn, "UPDATE queue.queues SET priority_aging_s = 60 WHERE name = 'money'")
    old = refund(db_dsn, 0, priority=1, waited_s=10 * 60)
    young = [refund(db_dsn, n, priority=8) for n in range(1, 6)]
    recent_low = refund(db_dsn, 9, priority=1, waited_s=30)
    assert claim_order_without_aging(db_dsn) == [*young, old, recent_low]

    [(raised,)] = sql(db_dsn, "SELECT queue.age_priorities()")

    # 1 + 10 periods, capped at 10; the others have not waited a period.
    assert raised == 1
    assert priority_of(db_dsn, old) == 10
    assert [priority_of(db_dsn, j) for j in young] == [8] * 5
    assert priority_of(db_dsn, recent_low) == 1
    assert claim(db_dsn, 1) == [old]


def claim_order_without_aging(dsn) -> list[int]:
    rows = sql(
        dsn,
        "SELECT id FROM procrastinate_jobs WHERE status = 'todo' "
        "ORDER BY priority DESC, id",
    )
    return [job_id for (job_id,) in rows]


def test_raises_follow_the_wait_from_the_job_s_own_priority(db_dsn):
    sql(db_dsn, "UPDATE queue.queues SET priority_aging_s = 60 WHERE name = 'money'")
    job = refund(db_dsn, 0, priority=2, waited_s=3 * 60 + 5)
    for _ in range(3):
        sql(db_dsn, "SELECT queue.age_priorities()")
    # Three periods: 2 + 3, however often it ran; its base is kept in meta.
    assert priority_of(db_dsn, job) == 5
    assert sql(
        db_dsn,
        "SELECT args -> 'meta' ->> 'base_priority' FROM procrastinate_jobs WHERE id = %s",
        (job,),
    ) == [("2",)]


async def test_racing_runs_raise_each_job_once(db_dsn):
    sql(db_dsn, "UPDATE queue.queues SET priority_aging_s = 60 WHERE name = 'money'")
    jobs = [refund(db_dsn, n, priority=1, waited_s=4 * 60 + 5) for n in range(200)]

    def run() -> int:
        return sql(db_dsn, "SELECT queue.age_priorities()")[0][0]

    raised = await asyncio.gather(*(asyncio.to_thread(run) for _ in range(6)))
    # Every job raised once in all (skipped rows are the other run's), to 1 + 4.
    assert sum(raised) <= len(jobs)
    assert {priority_of(db_dsn, j) for j in jobs} == {5}


def test_a_queue_with_aging_off_keeps_its_priorities(db_dsn):
    sql(db_dsn, "UPDATE queue.queues SET priority_aging_s = 0 WHERE name = 'money'")
    job = refund(db_dsn, 0, priority=1, waited_s=24 * 3600)
    assert sql(db_dsn, "SELECT queue.age_priorities()") == [(0,)]
    assert priority_of(db_dsn, job) == 1


async def test_the_aging_period_is_a_queue_setting_of_the_api(db_dsn):
    async with api_client(db_dsn) as client:
        shipped = await client.get(
            "/api/v1/queue/queues/money/config", headers=auth("admin")
        )
        changed = await client.patch(
            "/api/v1/queue/queues/money/config",
            json={"priorityAgingS": 120},
            headers=auth("admin"),
        )
        refused = await client.patch(
            "/api/v1/queue/queues/money/config",
            json={"priorityAgingS": -1},
            headers=auth("admin"),
        )
    assert shipped.json()["priorityAgingS"] == 300
    assert changed.json()["priorityAgingS"] == 120
    assert refused.status_code == 422
    assert sql(
        db_dsn, "SELECT priority_aging_s FROM queue.queues WHERE name = 'money'"
    ) == [(120,)]
