"""The migration runner on a real, empty database."""

import shutil
from pathlib import Path

import psycopg
import pytest

from app.cli import VERSION, run_migrations
from app.db.migrations import AppliedMigrationEditedError, app_line, migrate
from app.db.sql_files import sql_dir
from app.queue import PROCRASTINATE_VERSION, procrastinate_line


def test_migrate_builds_both_lines_and_records_checksums(empty_db_dsn):
    report = run_migrations(empty_db_dsn)
    assert report.changed
    with psycopg.connect(empty_db_dsn) as conn:
        rows = conn.execute(
            "SELECT line, name, checksum, version, baseline FROM queue.schema_migrations ORDER BY line, name"
        ).fetchall()
        assert conn.execute(
            "SELECT to_regclass('public.procrastinate_jobs') IS NOT NULL"
        ).fetchone() == (True,)
        queues = conn.execute("SELECT name FROM queue.queues ORDER BY name").fetchall()
    ours = {
        name: (checksum, version)
        for line, name, checksum, version, _ in rows
        if line == "app"
    }
    for file in app_line(VERSION).files:
        assert ours[file.name] == (file.checksum, VERSION)
    theirs = [row for row in rows if row[0] == "procrastinate"]
    assert len(theirs) == len(procrastinate_line().files)
    assert all(row[3] == PROCRASTINATE_VERSION and row[4] for row in theirs)
    assert queues == [("background",), ("communication",), ("maintenance",), ("money",)]


def test_migrate_twice_is_a_no_op(empty_db_dsn):
    run_migrations(empty_db_dsn)
    with psycopg.connect(empty_db_dsn) as conn:
        before = conn.execute(
            "SELECT line, name, applied_at FROM queue.schema_migrations ORDER BY 1, 2"
        ).fetchall()
    report = run_migrations(empty_db_dsn)
    assert not report.changed
    with psycopg.connect(empty_db_dsn) as conn:
        after = conn.execute(
            "SELECT line, name, applied_at FROM queue.schema_migrations ORDER BY 1, 2"
        ).fetchall()
    assert after == before


def test_migrate_refuses_an_edited_applied_file(empty_db_dsn, tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(sql_dir() / "migrations", migrations)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    first = sorted(migrations.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")

    with pytest.raises(
        AppliedMigrationEditedError,
        match=f"migration app/{first.name} was edited after it was applied",
    ):
        migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])


def test_migrate_applies_a_new_file_once_in_its_phase(empty_db_dsn, tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(sql_dir() / "migrations", migrations)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    Path(migrations / "9000_post_drop_later.sql").write_text(
        "-- 9000_post_drop_later: test only.\n\nCREATE TABLE queue.post_marker (id int);\n"
    )

    pre_only = migrate(
        empty_db_dsn, [procrastinate_line(), app_line("t", migrations)], phases=("pre",)
    )
    assert pre_only.applied == []
    post = migrate(
        empty_db_dsn,
        [procrastinate_line(), app_line("t", migrations)],
        phases=("post",),
    )
    assert post.applied == [("app", "9000_post_drop_later.sql")]
    with psycopg.connect(empty_db_dsn) as conn:
        assert conn.execute(
            "SELECT to_regclass('queue.post_marker') IS NOT NULL"
        ).fetchone() == (True,)


def test_migrate_rolls_back_a_failing_file(empty_db_dsn, tmp_path):
    migrations = tmp_path / "migrations"
    shutil.copytree(sql_dir() / "migrations", migrations)
    Path(migrations / "9001_pre_broken.sql").write_text(
        "-- 9001_pre_broken: test only.\n\nCREATE TABLE queue.half_done (id int);\nSELECT no_such_function();\n"
    )
    with pytest.raises(Exception, match=r"9001_pre_broken\.sql failed"):
        migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    with psycopg.connect(empty_db_dsn) as conn:
        assert conn.execute("SELECT to_regclass('queue.half_done')").fetchone() == (
            None,
        )
        recorded = conn.execute(
            "SELECT count(*) FROM queue.schema_migrations WHERE name = '9001_pre_broken.sql'"
        ).fetchone()
        assert recorded == (0,)


def test_migrate_seeds_policy_rows(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        queues = conn.execute(
            """SELECT name, tier, max_attempts, backoff, backoff_base_s, backoff_cap_s, backoff_jitter,
                      extract(day FROM keep_succeeded)::int, extract(day FROM keep_failed)::int,
                      concurrency, alert_max_waiting, extract(epoch FROM alert_max_oldest_age)::int / 60,
                      alert_max_failed_per_hour
               FROM queue.queues WHERE name <> 'maintenance' ORDER BY name"""
        ).fetchall()
        types = {
            name: rest
            for name, *rest in conn.execute(
                "SELECT name, queue, default_priority, idempotency_key_template FROM queue.job_types"
            ).fetchall()
        }
        nft_keep = conn.execute(
            "SELECT keep_succeeded FROM queue.job_types WHERE name = 'nft-mint'"
        ).fetchone()[0]
    assert queues == [
        (
            "background",
            "ephemeral",
            2,
            "fixed",
            10,
            None,
            False,
            0,
            7,
            10,
            50000,
            120,
            1000,
        ),
        (
            "communication",
            "important",
            3,
            "fixed",
            5,
            None,
            False,
            7,
            30,
            20,
            5000,
            30,
            100,
        ),
        ("money", "critical", 10, "exponential", 2, 3600, True, 90, 365, 5, 50, 10, 10),
    ]
    assert nft_keep.days == 365
    assert types["payment-process"] == [
        "money",
        10,
        "payment-{venueId}-{userId}-{eventId}-{amount}",
    ]
    assert types["refund-process"] == ["money", 10, "refund-{transactionId}"]
    assert types["nft-mint"] == ["money", 7, "nft-{eventId}-{seatId|ticketId}"]
    assert types["send-sms"] == ["communication", 5, "sms-{to}-{template}-{hour}"]
    assert types["cleanup-old-data"] == ["background", 1, None]
    assert types["analytics-track"][1] == 3 and types["generate-report"][1] == 3
    # 11 business types; the rest are maintenance tasks.
    assert sum(queue != "maintenance" for queue, *_ in types.values()) == 11
    assert types["run-retention"][0] == "maintenance"
    assert types["run-schedules"][0] == "maintenance"
