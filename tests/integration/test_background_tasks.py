"""The background job types, run as a worker runs them, on the real database."""

import csv
import json
import os
import time
from pathlib import Path

import psycopg
import pytest

from app.domain.errors import PermanentTaskError
from tests.helpers.perform import close_deps, open_deps, perform
from workers.tasks.background import (
    analytics_track,
    cleanup_old_data,
    generate_report,
    report_path,
)

USER = "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02"


@pytest.fixture
async def deps(db_dsn, tmp_path):
    opened = await open_deps(db_dsn, tmp_path / "reports")
    yield opened
    await close_deps(opened)


def rows(dsn, sql, params=()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


async def test_analytics_track_records_the_event_once_per_job(deps, db_dsn):
    data = {
        "eventType": "ticket_viewed",
        "userId": USER,
        "properties": {"eventId": "e-1"},
        "timestamp": "2026-11-20T10:00:00Z",
    }
    first = await perform(
        analytics_track, deps, data=data, job_id=41, job_type="analytics-track"
    )
    again = await perform(
        analytics_track, deps, data=data, job_id=41, job_type="analytics-track"
    )
    assert (
        first
        == again
        == {
            "eventType": "ticket_viewed",
            "occurredAt": "2026-11-20T10:00:00+00:00",
        }
    )
    stored = rows(
        db_dsn,
        "SELECT job_id, event_type, user_id::text, properties, occurred_at::text FROM queue.analytics_events",
    )
    assert stored == [
        (41, "ticket_viewed", USER, {"eventId": "e-1"}, "2026-11-20 10:00:00+00")
    ]


async def test_analytics_track_refuses_a_bad_payload(deps):
    with pytest.raises(PermanentTaskError, match="/data/eventType: Field required"):
        await perform(
            analytics_track, deps, data={"userId": USER}, job_type="analytics-track"
        )


async def test_cleanup_old_data_deletes_only_what_is_old_and_idle(
    deps, db_dsn, tmp_path
):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        (waiting,) = conn.execute(
            "SELECT job_id FROM queue.enqueue('money', 'refund-process', '{\"transactionId\": \"t\"}')"
        ).fetchone()
        conn.execute(
            "UPDATE queue.idempotency_keys SET created_at = now() - interval '60 days'"
        )
        conn.execute(
            "INSERT INTO queue.idempotency_keys (key, job_type, job_id, created_at) VALUES "
            "('idle-old', 'refund-process', 999, now() - interval '60 days'), ('idle-new', 'refund-process', 998, now())"
        )
        conn.execute(
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, started_at, finished_at) VALUES "
            "(999, 'money', 'refund-process', 1, 'succeeded', now() - interval '60 days', now() - interval '60 days'), "
            "(998, 'money', 'refund-process', 1, 'succeeded', now(), now()), "
            "(%s, 'money', 'refund-process', 1, 'retried', now() - interval '60 days', now() - interval '60 days')",
            (waiting,),
        )
    reports = tmp_path / "reports"
    reports.mkdir()
    old, new = reports / "jobs-all-1.csv", reports / "jobs-all-2.csv"
    old.write_text("old")
    new.write_text("new")
    sixty_days_ago = time.time() - 60 * 86400
    os.utime(old, (sixty_days_ago, sixty_days_ago))

    counts = await perform(
        cleanup_old_data, deps, data={"olderThanDays": 30}, job_type="cleanup-old-data"
    )
    assert counts == {"outcomes": 1, "idempotencyKeys": 1, "reports": 1}
    assert sorted(
        k for (k,) in rows(db_dsn, "SELECT key FROM queue.idempotency_keys")
    ) == ["idle-new", "refund-t"]
    assert sorted(
        j for (j,) in rows(db_dsn, "SELECT job_id FROM queue.job_outcomes")
    ) == sorted([998, waiting])
    assert not old.exists() and new.exists()


async def test_generate_report_writes_csv_and_json(deps, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, started_at, finished_at) "
            "SELECT i, 'money', 'refund-process', 1, CASE WHEN i <= 3 THEN 'failed' ELSE 'succeeded' END, "
            "now() - interval '2 hours' - interval '1 second', now() - interval '2 hours' FROM generate_series(1, 10) AS i"
        )
        for transaction in ("a", "b"):
            conn.execute(
                "SELECT * FROM queue.enqueue('money', 'refund-process', %s)",
                (json.dumps({"transactionId": transaction}),),
            )

    throughput = await perform(
        generate_report,
        deps,
        data={"reportType": "throughput", "format": "json", "queue": "money"},
        job_id=7,
        job_type="generate-report",
    )
    assert throughput["rows"] == 2 and throughput["format"] == "json"
    assert Path(throughput["path"]).name == "throughput-money-7.json"
    content = json.loads(Path(throughput["path"]).read_text())  # noqa: ASYNC240 - a test reading a small file
    assert {(r["status"], r["attempts"]) for r in content} == {
        ("failed", 3),
        ("succeeded", 7),
    }
    assert all(r["avg_duration_s"] == 1.0 for r in content)

    jobs = await perform(
        generate_report,
        deps,
        data={"reportType": "jobs", "format": "csv"},
        job_id=8,
        job_type="generate-report",
    )
    with Path(jobs["path"]).open() as handle:  # noqa: ASYNC230 - a test reading a small file
        table = list(csv.DictReader(handle))
    assert jobs["rows"] == 2 and [r["job_type"] for r in table] == [
        "refund-process",
        "refund-process",
    ]
    assert set(table[0]) == {
        "id",
        "queue",
        "job_type",
        "state",
        "attempts",
        "enqueued_at",
        "finished_at",
        "last_error",
    }


async def test_generate_report_cannot_be_steered_outside_its_directory(deps, tmp_path):
    outside = tmp_path / "outside"
    for queue in ("../../../outside/x", "/etc/cron.d/x", "money/../../x", "..", "a\\b"):
        with pytest.raises(PermanentTaskError, match="/data/queue"):
            await perform(
                generate_report,
                deps,
                data={"reportType": "jobs", "queue": queue},
                job_type="generate-report",
            )
    # Refused before any file or directory was made.
    assert not outside.exists()
    assert not deps.report_dir.exists() or list(deps.report_dir.iterdir()) == []


def test_report_names_are_slugs_in_the_report_directory(tmp_path):
    assert (
        report_path(tmp_path, "jobs", "Money-Queue", 7, "csv")
        == tmp_path / "jobs-money-queue-7.csv"
    )
    assert report_path(tmp_path, "jobs", "../../x", 7, "csv").parent == tmp_path
    assert report_path(tmp_path, "jobs", None, 7, "json").name == "jobs-all-7.json"


async def test_generate_report_refuses_an_unsupported_format(deps):
    with pytest.raises(PermanentTaskError, match="/data/format"):
        await perform(
            generate_report,
            deps,
            data={"reportType": "jobs", "format": "xlsx"},
            job_type="generate-report",
        )
