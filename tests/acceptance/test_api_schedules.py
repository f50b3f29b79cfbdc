"""Schedules over HTTP against the real database: CRUD, problems with pointers,
audit rows, roles, and a real worker enqueuing a due run."""

from datetime import UTC, datetime

import psycopg
import pytest

from tests.helpers.api import auth
from tests.helpers.workers import query, wait_for, worker_process

API = "/api/v1/queue/schedules"
ADMIN = {**auth("admin", sub="ops"), "X-Request-ID": "req-sched-1"}
MONITORING = auth("monitoring", sub="oncall")


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def problem(response, status, slug):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status
    return body


async def test_schedule_crud_round_trip(client, db_dsn):
    created = await client.post(
        API,
        json={
            "name": "nightly-report",
            "cron": "0 3 * * *",
            "type": "generate-report",
            "data": {"reportType": "jobs", "format": "json"},
            "priority": 4,
            "active": True,
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    next_run = datetime.fromisoformat(body.pop("nextRunAt"))
    assert (next_run.hour, next_run.minute, next_run.utcoffset().total_seconds()) == (
        3,
        0,
        0,
    )
    assert next_run > datetime.now(UTC)
    created_at = datetime.fromisoformat(body.pop("createdAt"))
    assert datetime.fromisoformat(body.pop("updatedAt")) == created_at
    assert body == {
        "name": "nightly-report",
        "cron": "0 3 * * *",
        "queue": "background",
        "type": "generate-report",
        "data": {"reportType": "jobs", "format": "json"},
        "priority": 4,
        "active": True,
        "lastRunAt": None,
        "lastJobId": None,
        "lastError": None,
    }

    listed = (await client.get(API, headers=MONITORING)).json()
    assert [s["name"] for s in listed] == [
        "cleanup-old-data",
        "nightly-report",
        "reconciliation-report",
    ]
    example = (
        await client.get(f"{API}/reconciliation-report", headers=MONITORING)
    ).json()
    assert (example["cron"], example["type"], example["data"], example["active"]) == (
        "*/5 * * * *",
        "generate-report",
        {"reportType": "failures", "format": "csv"},
        False,
    )
    assert example["nextRunAt"] is None

    patched = await client.patch(
        f"{API}/nightly-report",
        json={"cron": "30 4 * * *", "priority": None, "active": False},
        headers=ADMIN,
    )
    assert patched.status_code == 200, patched.text
    assert {
        k: patched.json()[k] for k in ("cron", "priority", "active", "nextRunAt")
    } == {
        "cron": "30 4 * * *",
        "priority": None,
        "active": False,
        "nextRunAt": None,
    }
    assert sql(
        db_dsn,
        "SELECT cron, priority, active FROM queue.schedules WHERE name = 'nightly-report'",
    ) == [("30 4 * * *", None, False)]

    deleted = await client.delete(f"{API}/nightly-report", headers=ADMIN)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["name"] == "nightly-report"
    gone = await client.get(f"{API}/nightly-report", headers=ADMIN)
    body = problem(gone, 404, "schedule-not-found")
    assert body["detail"] == 'no schedule is named "nightly-report"'
    assert body["instance"] == f"{API}/nightly-report"


async def test_schedule_changes_are_audited(client, db_dsn):
    await client.post(
        API,
        json={"name": "audited", "cron": "@daily", "type": "cleanup-old-data"},
        headers=ADMIN,
    )
    await client.patch(f"{API}/audited", json={"active": True}, headers=ADMIN)
    await client.delete(f"{API}/audited", headers=ADMIN)
    rows = sql(
        db_dsn,
        "SELECT actor, role, action, target, request_id, ip IS NOT NULL FROM queue.audit_log ORDER BY id",
    )
    assert rows == [
        ("ops", "admin", action, "schedule:audited", "req-sched-1", True)
        for action in ("schedule.create", "schedule.update", "schedule.delete")
    ]


@pytest.mark.parametrize(
    ("body", "status", "slug", "pointers"),
    [
        (
            {"name": "x", "cron": "0 2 * *", "type": "cleanup-old-data"},
            422,
            "invalid-schedule",
            ["/cron"],
        ),
        (
            {"name": "x", "cron": "0 0 30 2 *", "type": "cleanup-old-data"},
            422,
            "invalid-schedule",
            ["/cron"],
        ),
        (
            {"name": "x", "cron": "0 2 * * *", "type": "no-such-type"},
            400,
            "unknown-job-type",
            ["/type"],
        ),
        (
            {
                "name": "x",
                "cron": "0 2 * * *",
                "type": "cleanup-old-data",
                "queue": "money",
            },
            400,
            "job-type-not-in-queue",
            ["/queue"],
        ),
        (
            {
                "name": "x",
                "cron": "0 2 * * *",
                "type": "generate-report",
                "data": {"reportType": "everything", "format": "pdf"},
            },
            422,
            "invalid-job-data",
            ["/data/reportType", "/data/format"],
        ),
        (
            {"name": "Bad Name", "cron": "0 2 * * *", "type": "cleanup-old-data"},
            422,
            "validation-error",
            ["/name"],
        ),
        (
            {"name": "x", "cron": "0 2 * * *", "type": "cleanup-old-data", "when": 1},
            422,
            "validation-error",
            ["/when"],
        ),
    ],
    ids=[
        "bad-cron",
        "never-fires",
        "unknown-type",
        "wrong-queue",
        "bad-data",
        "bad-name",
        "unknown-field",
    ],
)
async def test_create_problems_point_at_the_field(
    client, db_dsn, body, status, slug, pointers
):
    response = await client.post(API, json=body, headers=ADMIN)
    found = problem(response, status, slug)
    assert [e["pointer"] for e in found["errors"]] == pointers
    assert sql(db_dsn, "SELECT count(*) FROM queue.schedules") == [(2,)]
    assert sql(db_dsn, "SELECT count(*) FROM queue.audit_log") == [(0,)]


async def test_create_taken_name_is_a_conflict(client):
    response = await client.post(
        API,
        json={
            "name": "cleanup-old-data",
            "cron": "0 2 * * *",
            "type": "cleanup-old-data",
        },
        headers=ADMIN,
    )
    problem(response, 409, "schedule-exists")


async def test_patch_problems(client, db_dsn):
    null_cron = await client.patch(
        f"{API}/cleanup-old-data", json={"cron": None}, headers=ADMIN
    )
    assert [
        e["pointer"] for e in problem(null_cron, 422, "validation-error")["errors"]
    ] == ["/cron"]
    bad_cron = await client.patch(
        f"{API}/cleanup-old-data", json={"cron": "@sometimes"}, headers=ADMIN
    )
    assert [
        e["pointer"] for e in problem(bad_cron, 422, "invalid-schedule")["errors"]
    ] == ["/cron"]
    bad_data = await client.patch(
        f"{API}/cleanup-old-data", json={"data": {"olderThanDays": 0}}, headers=ADMIN
    )
    assert [
        e["pointer"] for e in problem(bad_data, 422, "invalid-job-data")["errors"]
    ] == ["/data/olderThanDays"]
    missing = await client.patch(f"{API}/nope", json={"active": True}, headers=ADMIN)
    problem(missing, 404, "schedule-not-found")
    assert sql(
        db_dsn,
        "SELECT cron, data, active FROM queue.schedules WHERE name = 'cleanup-old-data'",
    ) == [("0 2 * * *", {"target": "all"}, False)]


async def test_monitoring_reads_but_cannot_change_schedules(client, db_dsn):
    assert (await client.get(API, headers=MONITORING)).status_code == 200
    for response in (
        await client.post(
            API,
            json={"name": "sneaky", "cron": "* * * * *", "type": "cleanup-old-data"},
            headers=MONITORING,
        ),
        await client.patch(
            f"{API}/cleanup-old-data", json={"active": True}, headers=MONITORING
        ),
        await client.delete(f"{API}/cleanup-old-data", headers=MONITORING),
    ):
        assert response.status_code == 403, response.text
    assert sql(db_dsn, "SELECT name, active FROM queue.schedules ORDER BY name") == [
        ("cleanup-old-data", False),
        ("reconciliation-report", False),
    ]


async def test_a_worker_enqueues_a_due_run_once(client, db_dsn, tmp_path):
    created = await client.post(
        API,
        json={
            "name": "new-year-cleanup",
            "cron": "0 0 1 1 *",
            "type": "cleanup-old-data",
            "data": {"target": "outcomes"},
            "active": True,
        },
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    # Due since 2020: the worker enqueues this year's run only.
    sql(
        db_dsn,
        "UPDATE queue.schedules SET next_run_at = '2020-01-01T00:00:00Z' WHERE name = 'new-year-cleanup'",
    )
    year = datetime.now(UTC).year

    def run_succeeded():
        return query(
            db_dsn,
            """SELECT s.last_job_id FROM queue.schedules AS s
               JOIN queue.job_outcomes AS o ON o.job_id = s.last_job_id
               WHERE s.name = 'new-year-cleanup' AND o.status = 'succeeded'""",
        )

    with worker_process(db_dsn, tmp_path):
        ((job_id,),) = wait_for(
            run_succeeded, timeout=60, what="the scheduled run to succeed"
        )
    # background deletes succeeded jobs; the idempotency keys say what was enqueued.
    assert query(
        db_dsn,
        "SELECT key, job_id FROM queue.idempotency_keys WHERE key LIKE %s",
        ("schedule-new-year-cleanup-%",),
    ) == [(f"schedule-new-year-cleanup-{year}-01-01T00:00:00Z", job_id)]
    shown = (await client.get(f"{API}/new-year-cleanup", headers=ADMIN)).json()
    assert shown["lastJobId"] == job_id
    assert shown["lastError"] is None
    assert datetime.fromisoformat(shown["lastRunAt"]) == datetime(
        year, 1, 1, tzinfo=UTC
    )
    assert datetime.fromisoformat(shown["nextRunAt"]) == datetime(
        year + 1, 1, 1, tzinfo=UTC
    )


async def test_patch_changes_the_job_type_by_its_wire_name(client, db_dsn):
    null_type = await client.patch(
        f"{API}/cleanup-old-data", json={"type": None}, headers=ADMIN
    )
    assert [
        e["pointer"] for e in problem(null_type, 422, "validation-error")["errors"]
    ] == ["/type"]
    snake = await client.patch(
        f"{API}/cleanup-old-data", json={"job_type": "generate-report"}, headers=ADMIN
    )
    assert [
        e["pointer"] for e in problem(snake, 422, "validation-error")["errors"]
    ] == ["/job_type"]
    changed = await client.patch(
        f"{API}/cleanup-old-data",
        json={"type": "generate-report", "data": {"reportType": "jobs"}},
        headers=ADMIN,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["type"], changed.json()["data"]) == (
        "generate-report",
        {"reportType": "jobs"},
    )
    assert sql(
        db_dsn,
        "SELECT job_type, data FROM queue.schedules WHERE name = 'cleanup-old-data'",
    ) == [("generate-report", {"reportType": "jobs"})]
