"""The console's schedules page: every schedule with its next and last run;
admin enables, disables and runs one now (audited), monitoring only reads."""

from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.api import api_client
from tests.helpers.console import post_form, sign_in

# Shipped disabled by the migrations: cleanup-old-data (0 2 * * *) and
# reconciliation-report (*/5 * * * *, generate-report).
SHIPPED = ("cleanup-old-data", "reconciliation-report")
FAR = datetime(2099, 1, 1, tzinfo=UTC)


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def add_schedule(dsn, name, *, active=True, next_run_at=FAR, data=None, **fields):
    sql(
        dsn,
        """INSERT INTO queue.schedules
               (name, cron, queue, job_type, data, active, next_run_at,
                last_run_at, last_job_id, last_error)
           VALUES (%s, %s, 'background', 'cleanup-old-data', %s, %s, %s, %s, %s, %s)""",
        (
            name,
            fields.get("cron", "0 3 * * *"),
            Jsonb(data if data is not None else {"target": "outcomes"}),
            active,
            next_run_at if active else None,
            fields.get("last_run_at"),
            fields.get("last_job_id"),
            fields.get("last_error"),
        ),
    )


def enqueue_job(dsn) -> int:
    (row,) = sql(
        dsn,
        "SELECT job_id FROM queue.enqueue('background', 'cleanup-old-data', "
        '\'{"target": "reports"}\')',
    )
    return row[0]


def row_of(page: str, name: str) -> str:
    return page.split(f'data-schedule="{name}"')[1].split("</tr>")[0]


def audit(dsn):
    return sql(
        dsn,
        "SELECT actor, role, action, target, details FROM queue.audit_log ORDER BY id",
    )


async def test_the_page_lists_every_schedule_with_its_runs(db_dsn):
    job = enqueue_job(db_dsn)
    sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s",
        (job,),
    )
    add_schedule(
        db_dsn,
        "nightly-cleanup",
        last_run_at=datetime(2026, 3, 4, 3, 0, tzinfo=UTC),
        last_job_id=job,
    )
    add_schedule(
        db_dsn,
        "refused-run",
        active=False,
        last_run_at=datetime(2026, 3, 4, 4, 0, tzinfo=UTC),
        last_error="data no longer valid",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/schedules")).text
    names = sorted([*SHIPPED, "nightly-cleanup", "refused-run"])
    rows = [page.index(f'data-schedule="{name}"') for name in names]
    assert rows == sorted(rows)  # name order
    nightly = row_of(page, "nightly-cleanup")
    assert "<code>0 3 * * *</code>" in nightly
    assert 'data-field="job-type">cleanup-old-data<' in nightly
    assert 'data-field="queue">background<' in nightly
    assert '<span class="badge enabled">enabled</span>' in nightly
    assert "2099-01-01 00:00:00 UTC" in nightly
    assert "2026-03-04 03:00:00 UTC" in nightly
    assert f'<a href="/console/jobs/{job}">job {job}</a>' in nightly
    assert 'data-field="last-state">succeeded<' in nightly
    refused = row_of(page, "refused-run")
    assert '<span class="badge disabled">disabled</span>' in refused
    assert 'data-field="last-error">data no longer valid<' in refused
    shipped = row_of(page, "reconciliation-report")
    assert 'data-field="job-type">generate-report<' in shipped
    assert "never" in shipped.split('data-field="last-run"')[1]


async def test_a_last_job_deleted_by_retention_says_so(db_dsn):
    add_schedule(
        db_dsn,
        "old-run",
        last_run_at=datetime(2026, 1, 1, tzinfo=UTC),
        last_job_id=987654,
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/schedules")).text
    assert "deleted by retention" in row_of(page, "old-run")


async def test_admin_enables_a_schedule_audited(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        page = (await client.get("/console/schedules")).text
        answer = await post_form(
            client, "/console/schedules/cleanup-old-data/enable", csrf
        )
        after = await client.get(answer.headers["location"])
    assert "Enable</button>" in row_of(page, "cleanup-old-data")
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/console/schedules?notice=enabled",
    )
    assert "Schedule enabled." in after.text
    assert "Disable</button>" in row_of(after.text, "cleanup-old-data")
    ((active, planned),) = sql(
        db_dsn,
        "SELECT active, next_run_at > now() FROM queue.schedules "
        "WHERE name = 'cleanup-old-data'",
    )
    assert (active, planned) == (True, True)
    assert audit(db_dsn) == [
        (
            "ops@example.com",
            "admin",
            "schedule.update",
            "schedule:cleanup-old-data",
            {"fields": ["active"], "active": True},
        )
    ]


async def test_admin_disables_a_schedule_audited(db_dsn):
    add_schedule(db_dsn, "nightly-cleanup")
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        answer = await post_form(
            client, "/console/schedules/nightly-cleanup/disable", csrf
        )
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/console/schedules?notice=disabled",
    )
    assert sql(
        db_dsn,
        "SELECT active, next_run_at FROM queue.schedules WHERE name = 'nightly-cleanup'",
    ) == [(False, None)]
    assert audit(db_dsn) == [
        (
            "ops@example.com",
            "admin",
            "schedule.update",
            "schedule:nightly-cleanup",
            {"fields": ["active"], "active": False},
        )
    ]


async def test_admin_runs_a_schedule_now_without_moving_its_next_run(db_dsn):
    add_schedule(db_dsn, "nightly-cleanup", data={"target": "idempotency_keys"})
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        answer = await post_form(client, "/console/schedules/nightly-cleanup/run", csrf)
        after = await client.get(answer.headers["location"])
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/console/schedules?notice=ran",
    )
    assert "enqueued now" in after.text
    ((job_id, queue, task, status, args),) = sql(
        db_dsn,
        "SELECT id, queue_name, task_name, status::text, args FROM procrastinate_jobs",
    )
    assert (queue, task, status) == ("background", "cleanup-old-data", "todo")
    assert args["data"] == {"target": "idempotency_keys"}
    assert args["meta"]["schedule"] == "nightly-cleanup"
    assert args["meta"]["run_now"] is True
    assert args["meta"]["idempotency_key"].startswith("schedule-nightly-cleanup-now-")
    assert sql(
        db_dsn,
        "SELECT next_run_at, last_run_at, last_job_id FROM queue.schedules "
        "WHERE name = 'nightly-cleanup'",
    ) == [(FAR, None, None)]
    assert audit(db_dsn) == [
        (
            "ops@example.com",
            "admin",
            "schedule.run_now",
            "schedule:nightly-cleanup",
            {"job_id": job_id, "duplicate": False},
        )
    ]


async def test_a_run_the_database_refuses_is_a_page_and_enqueues_nothing(db_dsn):
    # Data written around the API that the job type's model no longer takes.
    add_schedule(db_dsn, "broken-data", data={"target": "sessions"})
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(client, "/console/schedules/broken-data/run", csrf)
    assert answer.status_code == 422
    assert "<html" in answer.text
    assert sql(db_dsn, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]
    assert audit(db_dsn) == []


async def test_an_unknown_schedule_is_a_page_that_says_so(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(client, "/console/schedules/nope/enable", csrf)
    assert answer.status_code == 404
    assert 'no schedule is named "nope"' in answer.text.replace("&#34;", '"')


@pytest.mark.parametrize("action", ["enable", "disable", "run"])
async def test_monitoring_sees_no_buttons_and_is_refused(db_dsn, action):
    add_schedule(db_dsn, "nightly-cleanup")
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        page = (await client.get("/console/schedules")).text
        refused = await post_form(
            client, f"/console/schedules/nightly-cleanup/{action}", csrf
        )
    assert 'data-schedule="nightly-cleanup"' in page
    assert "Run now</button>" not in page and "able</button>" not in page
    assert "/console/schedules/" not in page
    assert refused.status_code == 403
    assert "the monitoring role may not do this here" in refused.text
    assert sql(
        db_dsn, "SELECT active FROM queue.schedules WHERE name = 'nightly-cleanup'"
    ) == [(True,)]
    assert sql(db_dsn, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]
    assert audit(db_dsn) == []


@pytest.mark.parametrize("action", ["enable", "run"])
async def test_an_action_without_the_csrf_token_changes_nothing(db_dsn, action):
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        missing = await client.post(
            f"/console/schedules/cleanup-old-data/{action}", follow_redirects=False
        )
        forged = await post_form(
            client, f"/console/schedules/cleanup-old-data/{action}", "0" * 64
        )
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert sql(
        db_dsn, "SELECT active FROM queue.schedules WHERE name = 'cleanup-old-data'"
    ) == [(False,)]
    assert sql(db_dsn, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]
    assert audit(db_dsn) == []


async def test_hostile_schedule_text_is_escaped(db_dsn):
    # Names are checked by the table (lowercase, digits, . _ -); the cron and
    # the last error are text an SQL edit or a provider's answer may fill.
    add_schedule(
        db_dsn,
        "hostile",
        active=False,
        cron="<script>alert('cron')</script>",
        last_error="<script>alert('error')</script>",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = (await client.get("/console/schedules")).text
    row = row_of(page, "hostile")
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;cron&#39;)&lt;/script&gt;" in row
    assert "&lt;script&gt;alert(&#39;error&#39;)&lt;/script&gt;" in row
