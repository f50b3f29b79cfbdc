"""The monitor against the real database: snapshots, thresholds, cooldowns, paging."""

import asyncio
import dataclasses

import psycopg
import pytest

from app.db.pool import create_pool
from app.domain.monitoring import DatabaseThresholds
from app.services.monitoring import run_monitor
from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.perform import close_deps, open_deps, perform
from tests.helpers.workers import enqueue
from workers.tasks.alerts import deliver_alert

LIMITS = DatabaseThresholds(max_dead_tuples=100_000, max_transaction_age_s=300)
ONCALL = "+14155550199"


def sql(dsn, statement, params=()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def busy_money(dsn, jobs=3):
    """Money over a threshold of 2 waiting jobs, and a live worker on every queue."""
    sql(dsn, "UPDATE queue.queues SET alert_max_waiting = 2 WHERE name = 'money'")
    for n in range(jobs):
        enqueue(dsn, "money", "refund-process", {"transactionId": f"pi_{n}"})
    sql(
        dsn,
        "WITH w AS (INSERT INTO procrastinate_workers DEFAULT VALUES RETURNING id) "
        "INSERT INTO queue.worker_queues (worker_id, queue_name) "
        "SELECT w.id, q.name FROM w CROSS JOIN queue.queues AS q",
    )


@pytest.fixture
async def conn_pool(db_dsn):
    async with create_pool(db_dsn, min_size=1, max_size=4) as pool:
        yield pool


async def monitor_once(pool, *, can_page=True, limits=LIMITS):
    async with pool.connection() as conn:
        return await run_monitor(
            conn, stalled_after_s=30, thresholds=limits, can_page=can_page
        )


async def test_monitor_snapshots_every_queue(conn_pool, db_dsn):
    busy_money(db_dsn)

    await monitor_once(conn_pool)

    snapshot = dict(sql(db_dsn, "SELECT queue_name, waiting FROM queue.queue_metrics"))
    assert snapshot == {
        "money": 3,
        "communication": 0,
        "background": 0,
        "maintenance": 0,
    }


async def test_monitor_pages_a_critical_money_alert_once(conn_pool, db_dsn):
    busy_money(db_dsn)

    first = await monitor_once(conn_pool)
    again = await monitor_once(conn_pool)

    assert [(a.breach.severity, a.breach.type, a.breach.queue) for a in first] == [
        ("critical", "queue_depth", "money")
    ]
    assert first[0].channels == {"log": "sent", "sms": "queued", "voice": "queued"}
    assert again == []  # cooling down for 5 minutes
    deliveries = sql(
        db_dsn,
        "SELECT args -> 'data' ->> 'channel' FROM procrastinate_jobs "
        "WHERE task_name = 'deliver-alert' ORDER BY id",
    )
    assert deliveries == [("sms",), ("voice",)]
    assert sql(db_dsn, "SELECT count(*) FROM queue.alert_history") == [(1,)]


async def test_monitor_racing_processes_raise_one_alert(db_dsn):
    busy_money(db_dsn)
    pools = [create_pool(db_dsn, min_size=1, max_size=2) for _ in range(4)]
    for pool in pools:
        await pool.open()
    try:
        results = await asyncio.gather(*(monitor_once(pool) for pool in pools))
    finally:
        for pool in pools:
            await pool.close()

    assert sum(len(raised) for raised in results) == 1
    assert sql(db_dsn, "SELECT count(*) FROM queue.alert_history") == [(1,)]


async def test_monitor_alert_returns_after_its_cooldown(conn_pool, db_dsn):
    busy_money(db_dsn)
    await monitor_once(conn_pool)
    sql(
        db_dsn,
        "UPDATE queue.alert_cooldowns SET last_raised_at = now() - interval '6 minutes'",
    )

    again = await monitor_once(conn_pool)

    assert [a.breach.type for a in again] == ["queue_depth"]


async def test_monitor_without_oncall_records_why_nobody_was_paged(conn_pool, db_dsn):
    busy_money(db_dsn)

    (alert,) = await monitor_once(conn_pool, can_page=False)

    assert alert.channels["sms"].startswith("not sent: ONCALL_PHONE")
    assert sql(
        db_dsn,
        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'deliver-alert'",
    ) == [(0,)]


async def test_monitor_reports_missing_workers_and_stalled_jobs(conn_pool, db_dsn):
    job = enqueue(db_dsn, "background", "analytics-track", {"eventType": "x"})
    sql(
        db_dsn,
        "WITH w AS (INSERT INTO procrastinate_workers (last_heartbeat) "
        "VALUES (now() - interval '1 hour') RETURNING id) "
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = (SELECT id FROM w) "
        "WHERE id = %s",
        (job,),
    )

    raised = await monitor_once(conn_pool)

    found = {(a.breach.type, a.breach.queue) for a in raised}
    assert ("stalled_jobs", None) in found
    assert {
        ("no_workers", q) for q in ("money", "communication", "background")
    } <= found


async def test_monitor_warns_of_an_old_open_transaction(conn_pool, db_dsn):
    limits = DatabaseThresholds(max_dead_tuples=100_000, max_transaction_age_s=0.5)
    with psycopg.connect(db_dsn) as idle:
        idle.execute("SELECT 1")  # a transaction left open
        await asyncio.sleep(1.0)
        raised = await monitor_once(conn_pool, limits=limits)
        idle.rollback()

    (old,) = [a for a in raised if a.breach.type == "long_transaction"]
    assert old.breach.severity == "warning" and old.breach.value >= 1.0


async def test_deliver_alert_pages_by_sms_and_voice_once(db_dsn, tmp_path, fake_twilio):
    busy_money(db_dsn)
    deps = await open_deps(
        db_dsn, tmp_path, providers=settings_for_fakes(twilio=fake_twilio)
    )
    deps = dataclasses.replace(deps, oncall_phone=ONCALL)
    try:
        async with deps.pool.connection() as conn:
            (alert,) = await run_monitor(
                conn, stalled_after_s=30, thresholds=LIMITS, can_page=True
            )
        for channel, job_id in (("sms", 1), ("voice", 2), ("sms", 3)):
            await perform(
                deliver_alert,
                deps,
                data={"alertId": alert.alert_id, "channel": channel},
                meta={"idempotency_key": f"alert-{alert.alert_id}-{channel}"},
                job_id=job_id,
                job_type="deliver-alert",
                queue="maintenance",
            )
    finally:
        await close_deps(deps)

    (sms,) = fake_twilio.messages  # the rerun for sms sent nothing new
    assert sms.to == ONCALL
    assert "3 jobs waiting in money" in sms.body and sms.body.startswith("[critical]")
    (call,) = fake_twilio.calls
    assert call.to == ONCALL and "<Say>" in call.twiml
    ((channels,),) = sql(db_dsn, "SELECT channels FROM queue.alert_history")
    assert channels["sms"] == f"sent {sms.sid}"
    assert channels["voice"] == f"sent {call.sid}"
