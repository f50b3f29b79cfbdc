"""app.services.schedules and the run-schedules task against the real database:
CRUD with validation and audit, due runs enqueued once (also when two runners
race), missed runs, schedules enabled or edited from SQL."""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.domain.access import Principal, Role
from app.domain.errors import (
    InvalidSchedule,
    JobTypeNotInQueue,
    PayloadInvalid,
    ScheduleExists,
    ScheduleNotFound,
    UnknownJobType,
    UnknownQueue,
)
from app.services import schedules
from app.services.audit import AuditContext
from tests.helpers.perform import close_deps, open_deps, perform
from workers.tasks.schedules import run_schedules

AUDIT = AuditContext(
    principal=Principal(sub="ops", role=Role.ADMIN), request_id="req-7", ip="10.0.0.9"
)
YEARLY = "0 0 1 1 *"  # due once a year: run times in tests do not depend on the clock
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


async def one(conn, statement, params=None):
    cursor = await conn.execute(statement, params)
    return await cursor.fetchone()


async def all_rows(conn, statement, params=None):
    cursor = await conn.execute(statement, params)
    return await cursor.fetchall()


async def db_now(conn) -> datetime:
    (now,) = await one(conn, "SELECT now()")
    return now.astimezone(UTC)


async def make_due(conn, name, since=LONG_AGO):
    await conn.execute(
        "UPDATE queue.schedules SET next_run_at = %s WHERE name = %s", (since, name)
    )


async def add(conn, name, *, cron=YEARLY, active=True, **fields):
    fields.setdefault("job_type", "cleanup-old-data")
    fields.setdefault("data", {"target": "outcomes"})
    return await schedules.create(
        conn, name=name, cron=cron, active=active, audit=AUDIT, **fields
    )


async def scheduled_jobs(conn):
    """(schedule, idempotency key, queue, type, priority) of every job schedules made."""
    return await all_rows(
        conn,
        """SELECT args->'meta'->>'schedule', args->'meta'->>'idempotency_key',
                  queue_name, task_name, priority
           FROM procrastinate_jobs WHERE args->'meta' ? 'schedule' ORDER BY id""",
    )


async def test_examples_ship_as_inactive_rows(conn):
    rows = await all_rows(
        conn,
        """SELECT name, cron, queue, job_type, data, active, next_run_at, last_run_at
           FROM queue.schedules ORDER BY name""",
    )
    assert rows == [
        (
            "cleanup-old-data",
            "0 2 * * *",
            "background",
            "cleanup-old-data",
            {"target": "all"},
            False,
            None,
            None,
        ),
        (
            "reconciliation-report",
            "*/5 * * * *",
            "background",
            "generate-report",
            {"reportType": "failures", "format": "csv"},
            False,
            None,
            None,
        ),
    ]


async def test_create_plans_the_next_run_and_audits(conn):
    before = datetime.now(UTC)
    row = await add(
        conn, "nightly", cron=" 30  3 * * * ", queue="background-queue", priority=4
    )
    assert (row.cron, row.queue, row.job_type, row.priority, row.active) == (
        "30 3 * * *",
        "background",
        "cleanup-old-data",
        4,
        True,
    )
    assert row.next_run_at is not None
    assert before < row.next_run_at <= before + timedelta(days=1)
    assert (row.next_run_at.hour, row.next_run_at.minute) == (3, 30)
    audit = await all_rows(
        conn,
        "SELECT actor, role, action, target, request_id, details FROM queue.audit_log",
    )
    assert audit == [
        (
            "ops",
            "admin",
            "schedule.create",
            "schedule:nightly",
            "req-7",
            {
                "cron": "30 3 * * *",
                "queue": "background",
                "type": "cleanup-old-data",
                "priority": 4,
                "active": True,
            },
        )
    ]


async def test_create_inactive_has_no_next_run_and_queue_defaults_to_the_types(conn):
    row = await add(
        conn,
        "report",
        cron="@hourly",
        active=False,
        job_type="generate-report",
        data={"reportType": "jobs"},
    )
    assert (row.queue, row.active, row.next_run_at) == ("background", False, None)


@pytest.mark.parametrize(
    ("fields", "error", "pointer"),
    [
        ({"cron": "0 2 * *"}, InvalidSchedule, "/cron"),
        ({"cron": "0 0 31 2 *"}, InvalidSchedule, "/cron"),
        ({"job_type": "no-such-type"}, UnknownJobType, "/type"),
        ({"queue": "nope"}, UnknownQueue, "/queue"),
        ({"queue": "money"}, JobTypeNotInQueue, "/queue"),
        ({"data": {"target": "everything"}}, PayloadInvalid, "/data/target"),
    ],
)
async def test_create_refuses_bad_schedules_and_writes_nothing(
    conn, fields, error, pointer
):
    with pytest.raises(error) as excinfo:
        await add(conn, "bad", **fields)
    exc = excinfo.value
    errors = getattr(exc, "errors", None) or exc.extra["errors"]
    assert [e["pointer"] for e in errors] == [pointer]
    assert await one(conn, "SELECT count(*) FROM queue.schedules") == (2,)
    assert await one(conn, "SELECT count(*) FROM queue.audit_log") == (0,)


async def test_create_taken_name_is_refused(conn):
    with pytest.raises(ScheduleExists, match="cleanup-old-data"):
        await add(conn, "cleanup-old-data")


async def test_update_enables_a_schedule_and_plans_it_from_now(conn):
    row = await schedules.update(
        conn, "reconciliation-report", {"active": True}, audit=AUDIT
    )
    now = datetime.now(UTC)
    assert row.active is True and row.next_run_at is not None
    assert now < row.next_run_at <= now + timedelta(minutes=5)
    assert row.next_run_at.minute % 5 == 0 and row.next_run_at.second == 0
    (details,) = await one(
        conn,
        "SELECT details FROM queue.audit_log WHERE action = 'schedule.update' AND target = 'schedule:reconciliation-report'",
    )
    assert details == {"fields": ["active"], "active": True}


async def test_update_changes_cron_type_and_data_and_clears_priority(conn):
    await add(conn, "flex", priority=2)
    row = await schedules.update(
        conn,
        "flex",
        {
            "cron": "15 * * * *",
            "job_type": "generate-report",
            "data": {"reportType": "throughput", "format": "json"},
            "priority": None,
        },
        audit=AUDIT,
    )
    assert (row.cron, row.job_type, row.queue, row.data, row.priority) == (
        "15 * * * *",
        "generate-report",
        "background",
        {"reportType": "throughput", "format": "json"},
        None,
    )
    assert row.next_run_at is not None and row.next_run_at.minute == 15
    (details,) = await one(
        conn, "SELECT details FROM queue.audit_log WHERE action = 'schedule.update'"
    )
    # The payload stays out of the audit log: it may carry personal data.
    assert details == {
        "fields": ["cron", "data", "job_type", "priority"],
        "cron": "15 * * * *",
        "job_type": "generate-report",
        "priority": None,
    }


async def test_update_disabling_clears_the_next_run(conn):
    await add(conn, "off-soon")
    row = await schedules.update(conn, "off-soon", {"active": False}, audit=AUDIT)
    assert (row.active, row.next_run_at) == (False, None)


async def test_update_validates_only_what_changes(conn):
    # Stored data that no longer passes its model (edited in SQL) does not
    # keep an operator from turning the schedule off.
    await conn.execute(
        "UPDATE queue.schedules SET data = '{\"target\": \"galaxies\"}', active = true WHERE name = 'cleanup-old-data'"
    )
    row = await schedules.update(
        conn, "cleanup-old-data", {"active": False}, audit=AUDIT
    )
    assert row.active is False
    with pytest.raises(PayloadInvalid):
        await schedules.update(
            conn, "cleanup-old-data", {"data": {"target": "galaxies"}}, audit=AUDIT
        )
    with pytest.raises(InvalidSchedule):
        await schedules.update(
            conn, "cleanup-old-data", {"cron": "@often"}, audit=AUDIT
        )


async def test_update_and_delete_of_unknown_schedule_are_not_found(conn):
    with pytest.raises(ScheduleNotFound, match='"nope"'):
        await schedules.update(conn, "nope", {"active": True}, audit=AUDIT)
    with pytest.raises(ScheduleNotFound):
        await schedules.delete(conn, "nope", audit=AUDIT)
    with pytest.raises(ScheduleNotFound):
        await schedules.get(conn, "nope")


async def test_delete_removes_and_audits(conn):
    removed = await schedules.delete(conn, "reconciliation-report", audit=AUDIT)
    assert removed.job_type == "generate-report"
    assert [r.name for r in await schedules.list_all(conn)] == ["cleanup-old-data"]
    assert await one(conn, "SELECT action, target, details FROM queue.audit_log") == (
        "schedule.delete",
        "schedule:reconciliation-report",
        {"cron": "*/5 * * * *", "type": "generate-report", "active": False},
    )


async def test_run_due_enqueues_the_run_once_and_advances(conn):
    await add(conn, "yearly-cleanup", priority=6)
    await make_due(conn, "yearly-cleanup", since=LONG_AGO)
    now = await db_now(conn)
    this_year = datetime(now.year, 1, 1, tzinfo=UTC)

    runs = await schedules.run_due(conn)

    assert len(runs) == 1
    run = runs[0]
    assert (run.schedule, run.run_at, run.duplicate, run.error) == (
        "yearly-cleanup",
        this_year,
        False,
        None,
    )
    # Missed runs of 2020 ... last year are skipped, not enqueued as a backlog.
    assert run.skipped == now.year - 2020
    key = f"schedule-yearly-cleanup-{now.year}-01-01T00:00:00Z"
    assert await scheduled_jobs(conn) == [
        ("yearly-cleanup", key, "background", "cleanup-old-data", 6)
    ]
    (args,) = await one(
        conn, "SELECT args FROM procrastinate_jobs WHERE id = %s", (run.job_id,)
    )
    assert args["data"] == {"target": "outcomes"}
    assert args["meta"]["scheduled_for"] == this_year.isoformat()
    row = await schedules.get(conn, "yearly-cleanup")
    assert (row.last_run_at, row.last_job_id, row.last_error, row.next_run_at) == (
        this_year,
        run.job_id,
        None,
        datetime(now.year + 1, 1, 1, tzinfo=UTC),
    )
    # Nothing is due any more: a second run does nothing.
    assert await schedules.run_due(conn) == []
    assert len(await scheduled_jobs(conn)) == 1


async def test_run_due_leaves_inactive_and_future_schedules_alone(conn):
    await add(conn, "future")  # next run: next New Year
    await add(conn, "off", active=False)
    await conn.execute(
        "UPDATE queue.schedules SET next_run_at = %s WHERE name = 'off'", (LONG_AGO,)
    )
    assert await schedules.run_due(conn) == []
    assert await scheduled_jobs(conn) == []


async def test_run_due_with_the_key_already_used_makes_no_second_job(conn):
    await add(conn, "keyed")
    await make_due(conn, "keyed")
    now = await db_now(conn)
    key = f"schedule-keyed-{now.year}-01-01T00:00:00Z"
    (earlier,) = await one(
        conn,
        "SELECT job_id FROM queue.enqueue('background', 'cleanup-old-data', '{}', idempotency_key => %s)",
        (key,),
    )
    (run,) = await schedules.run_due(conn)
    assert (run.job_id, run.duplicate) == (earlier, True)
    assert await one(conn, "SELECT count(*) FROM procrastinate_jobs") == (1,)
    assert (await schedules.get(conn, "keyed")).last_job_id == earlier


async def test_two_runners_racing_enqueue_each_run_once(db_dsn):
    names = [f"race-{i:02d}" for i in range(30)]
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as setup:
        for name in names:
            await add(setup, name)
            await make_due(setup, name)
        now = await db_now(setup)

    async def runner():
        async with await psycopg.AsyncConnection.connect(
            db_dsn, autocommit=True
        ) as conn:
            return await schedules.run_due(conn)

    results = await asyncio.gather(runner(), runner(), runner())

    handled = [run.schedule for runs in results for run in runs]
    # Each schedule was claimed by exactly one runner (no run was even tried twice).
    assert sorted(handled) == names
    assert not any(run.duplicate for runs in results for run in runs)
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as conn:
        jobs = await scheduled_jobs(conn)
    assert sorted((schedule, key) for schedule, key, *_ in jobs) == [
        (name, f"schedule-{name}-{now.year}-01-01T00:00:00Z") for name in names
    ]


async def test_run_due_skips_a_schedule_another_transaction_holds(db_dsn, conn):
    # Were the held row ever claimed, its update would wait on the holder:
    # fail in seconds rather than hang the run.
    await conn.execute("SET lock_timeout = '10s'")
    await add(conn, "held")
    await make_due(conn, "held")
    async with await psycopg.AsyncConnection.connect(db_dsn) as holder:
        await holder.execute(
            "SELECT 1 FROM queue.schedules WHERE name = 'held' FOR UPDATE"
        )
        assert await schedules.run_due(conn) == []
        await holder.rollback()
    (run,) = await schedules.run_due(conn)
    assert run.schedule == "held" and run.job_id is not None


async def test_schedule_enabled_from_sql_is_planned_from_its_change(conn):
    await conn.execute(
        "UPDATE queue.schedules SET active = true WHERE name = 'reconciliation-report'"
    )
    (updated_at, next_run_at) = await one(
        conn,
        "SELECT updated_at, next_run_at FROM queue.schedules WHERE name = 'reconciliation-report'",
    )
    assert next_run_at is None
    runs = await schedules.run_due(conn)
    (run,) = [r for r in runs if r.schedule == "reconciliation-report"]
    row = await schedules.get(conn, "reconciliation-report")
    if run.run_at is None:  # the usual case: the next 5-minute mark is ahead
        assert updated_at < row.next_run_at <= updated_at + timedelta(minutes=5)
    else:  # a 5-minute mark passed between the UPDATE and the run
        assert updated_at < run.run_at <= row.next_run_at
    assert row.next_run_at.minute % 5 == 0 and row.next_run_at.second == 0


async def test_sql_edits_keep_next_run_honest(conn):
    await add(conn, "edited")
    await conn.execute(
        "UPDATE queue.schedules SET cron = '0 * * * *' WHERE name = 'edited'"
    )
    assert await one(
        conn, "SELECT next_run_at FROM queue.schedules WHERE name = 'edited'"
    ) == (None,)
    await conn.execute(
        "UPDATE queue.schedules SET next_run_at = %s WHERE name = 'edited'", (LONG_AGO,)
    )
    await conn.execute(
        "UPDATE queue.schedules SET active = false WHERE name = 'edited'"
    )
    assert await one(
        conn, "SELECT next_run_at FROM queue.schedules WHERE name = 'edited'"
    ) == (None,)


async def test_task_advance_does_not_touch_updated_at(conn):
    await add(conn, "steady")
    await make_due(conn, "steady")
    before = (await schedules.get(conn, "steady")).updated_at
    await schedules.run_due(conn)
    assert (await schedules.get(conn, "steady")).updated_at == before


async def test_refused_run_is_recorded_and_skipped(conn):
    await add(conn, "broken")
    await conn.execute(
        "UPDATE queue.schedules SET data = %s, next_run_at = %s WHERE name = 'broken'",
        (Jsonb({"target": "galaxies"}), LONG_AGO),
    )
    await add(conn, "fine")
    await make_due(conn, "fine")
    runs = {run.schedule: run for run in await schedules.run_due(conn)}
    assert runs["broken"].job_id is None
    assert "target" in runs["broken"].error
    assert runs["fine"].job_id is not None and runs["fine"].error is None
    row = await schedules.get(conn, "broken")
    now = await db_now(conn)
    assert (row.active, row.last_job_id, row.next_run_at) == (
        True,
        None,
        datetime(now.year + 1, 1, 1, tzinfo=UTC),
    )
    assert "target" in row.last_error
    assert [s for s, *_ in await scheduled_jobs(conn)] == ["fine"]


async def test_stored_invalid_cron_disables_the_schedule(conn):
    await conn.execute(
        """INSERT INTO queue.schedules (name, cron, queue, job_type, active)
           VALUES ('typo', 'every day', 'background', 'cleanup-old-data', true)"""
    )
    (run,) = await schedules.run_due(conn)
    assert run.schedule == "typo" and "every day" in run.error
    row = await schedules.get(conn, "typo")
    assert (row.active, row.next_run_at) == (False, None)
    assert "five fields" in row.last_error
    assert await schedules.run_due(conn) == []


async def test_task_body_reports_what_it_did(db_dsn, conn, tmp_path):
    await add(conn, "via-task")
    await make_due(conn, "via-task")
    await add(conn, "not-yet")
    await conn.execute(
        "UPDATE queue.schedules SET active = true WHERE name = 'cleanup-old-data'"
    )
    deps = await open_deps(db_dsn, tmp_path)
    try:
        counts = await perform(
            run_schedules,
            deps,
            data=None,
            job_type="run-schedules",
            queue="maintenance",
        )
        again = await perform(
            run_schedules,
            deps,
            data=None,
            job_type="run-schedules",
            queue="maintenance",
        )
    finally:
        await close_deps(deps)
    now = await db_now(conn)
    assert counts == {
        "enqueued": 1,
        "duplicates": 0,
        "failed": 0,
        # cleanup-old-data, enabled from SQL, got its next run (02:00 UTC)
        "planned": 1,
        "skipped": now.year - 2020,
    }
    assert again == {
        "enqueued": 0,
        "duplicates": 0,
        "failed": 0,
        "planned": 0,
        "skipped": 0,
    }
    assert [s for s, *_ in await scheduled_jobs(conn)] == ["via-task"]


def test_run_schedules_is_a_periodic_maintenance_task():
    import procrastinate
    from procrastinate.testing import InMemoryConnector

    from workers.tasks import register_tasks

    app = procrastinate.App(connector=InMemoryConnector())
    retry = procrastinate.RetryStrategy(max_attempts=1)
    register_tasks(app, retry=retry, stalled_after_s=30, rescue_every_s=30)
    assert app.tasks["run-schedules"].queue == "maintenance"
    crons = {p.task.name: p.cron for p in app.periodic_registry.periodic_tasks.values()}
    assert crons["run-schedules"] == "* * * * * */15"


def test_reader_sees_schedule_status_but_not_the_table(db_dsn):
    import uuid

    from psycopg import conninfo
    from psycopg import sql as pgsql

    role = f"test_reader_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db_dsn, autocommit=True) as admin:
        admin.execute(
            pgsql.SQL("CREATE ROLE {} LOGIN IN ROLE queue_reader").format(
                pgsql.Identifier(role)
            )
        )
    try:
        dsn = conninfo.make_conninfo(db_dsn, user=role)
        with psycopg.connect(dsn, autocommit=True) as reader:
            rows = reader.execute(
                "SELECT name, job_type, active, next_run_in_s FROM queue.schedule_status ORDER BY name"
            ).fetchall()
            assert rows == [
                ("cleanup-old-data", "cleanup-old-data", False, None),
                ("reconciliation-report", "generate-report", False, None),
            ]
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute("SELECT data FROM queue.schedules")
    finally:
        with psycopg.connect(db_dsn, autocommit=True) as admin:
            admin.execute(pgsql.SQL("DROP ROLE {}").format(pgsql.Identifier(role)))
