"""The migration runner on a real, empty database."""

import hashlib
import shutil
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest

from app.cli import VERSION, run_migrations
from app.db.migrations import (
    AppliedMigrationEditedError,
    MigrationError,
    MigrationLine,
    app_line,
    migrate,
)
from app.db.schema_objects import ObjectFile
from app.db.sql_files import sql_dir
from app.queue import PROCRASTINATE_VERSION, procrastinate_line
from tests.helpers import catalog, database

# What sql/migrations held before functions, views and triggers moved to their
# own files: the state a database migrated by an older release is in.
BEFORE_OBJECT_FILES = Path(__file__).parent / "before_object_files"


def _older_line() -> MigrationLine:
    """Our line as a release before object files ran it: files only."""
    return replace(app_line("t", BEFORE_OBJECT_FILES), rows=None, atomic=False)


def _copy_sql(tmp_path: Path) -> Path:
    """Copy sql/ (migrations and object files); return the migrations folder."""
    shutil.copytree(sql_dir(), tmp_path / "sql")
    return tmp_path / "sql" / "migrations"


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
    migrations = _copy_sql(tmp_path)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    first = sorted(migrations.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- an innocent-looking edit\n")

    with pytest.raises(
        AppliedMigrationEditedError,
        match=f"migration app/{first.name} was edited after it was applied",
    ):
        migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])


def test_migrate_applies_a_new_file_once_in_its_phase(empty_db_dsn, tmp_path):
    migrations = _copy_sql(tmp_path)
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
    assert post.applied[0] == ("app", "9000_post_drop_later.sql")
    # Every object file runs again after a numbered migration.
    assert {name for _, name in post.applied[1:]} == {
        obj.path for obj in app_line("t", migrations).objects
    }
    with psycopg.connect(empty_db_dsn) as conn:
        assert conn.execute(
            "SELECT to_regclass('queue.post_marker') IS NOT NULL"
        ).fetchone() == (True,)


def test_migrate_rolls_back_a_failing_file(empty_db_dsn, tmp_path):
    migrations = _copy_sql(tmp_path)
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
    assert types["send-sms"] == [
        "communication",
        5,
        "sms-{to}-{template|message}-{hour}",
    ]
    assert types["cleanup-old-data"] == ["background", 1, None]
    assert types["analytics-track"][1] == 3 and types["generate-report"][1] == 3
    # 11 business types; the rest are maintenance tasks.
    assert sum(queue != "maintenance" for queue, *_ in types.values()) == 12
    assert types["run-retention"][0] == "maintenance"
    assert types["run-schedules"][0] == "maintenance"


def test_migrate_upgrades_a_database_of_the_older_layout_to_a_fresh_ones_schema(
    admin_dsn, empty_db_dsn
):
    fresh_name = database.create_empty(admin_dsn)
    fresh = database.dsn_for(admin_dsn, fresh_name)
    try:
        migrate(fresh, [procrastinate_line(), app_line("t")])
        migrate(empty_db_dsn, [procrastinate_line(), _older_line()])

        report = migrate(empty_db_dsn, [procrastinate_line(), app_line("t")])

        assert ("app", "functions/enqueue.sql") in report.applied
        # Only the files written after the older layout run; the rewritten
        # ones are taken as applied.
        older = {path.name for path in BEFORE_OBJECT_FILES.glob("*.sql")}
        assert [name for _, name in report.applied if "/" not in name] == [
            file.name for file in app_line("t").files if file.name not in older
        ]
        upgraded, expected = catalog.snapshot(empty_db_dsn), catalog.snapshot(fresh)
        assert upgraded.keys() == expected.keys()
        for part in expected:
            assert upgraded[part] == expected[part], part
        assert not migrate(empty_db_dsn, [procrastinate_line(), app_line("t")]).changed
    finally:
        database.drop_database(admin_dsn, fresh_name)


def test_former_checksums_are_those_of_the_older_files():
    line = app_line("t")
    kept = {path.name: path for path in BEFORE_OBJECT_FILES.glob("*.sql")}
    assert kept.keys() == line.former_checksums.keys()
    for name, path in kept.items():
        assert (
            hashlib.sha256(path.read_bytes()).hexdigest() in line.former_checksums[name]
        )


def test_migrate_refuses_an_older_file_edited_after_it_was_applied(
    empty_db_dsn, tmp_path
):
    edited = tmp_path / "migrations"
    shutil.copytree(BEFORE_OBJECT_FILES, edited)
    first = edited / "0001_pre_queue_core.sql"
    first.write_text(first.read_text() + "\n-- edited in place\n")
    migrate(
        empty_db_dsn,
        [
            procrastinate_line(),
            replace(_older_line(), files=app_line("t", edited).files),
        ],
    )

    with pytest.raises(
        AppliedMigrationEditedError, match=r"0001_pre_queue_core\.sql was edited"
    ):
        migrate(empty_db_dsn, [procrastinate_line(), app_line("t")])


def test_migrate_applies_an_edited_object_file_again(empty_db_dsn, tmp_path):
    migrations = _copy_sql(tmp_path)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    view = migrations.parent / "views" / "overview.sql"
    view.write_text(
        view.read_text().replace(
            "COMMENT ON VIEW queue.overview IS\n    '",
            "COMMENT ON VIEW queue.overview IS\n    'Edited. ",
        )
    )

    report = migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])

    assert report.applied == [("app", "views/overview.sql")]
    with psycopg.connect(empty_db_dsn) as conn:
        comment = conn.execute(
            "SELECT obj_description('queue.overview'::regclass)"
        ).fetchone()
        recorded = conn.execute(
            "SELECT checksum FROM queue.schema_migrations WHERE name = 'views/overview.sql'"
        ).fetchone()
    assert comment is not None and comment[0].startswith("Edited. ")
    assert recorded == (
        ObjectFile(path="views/overview.sql", sql=view.read_text()).checksum,
    )


def test_migrate_applies_object_files_after_those_they_read(empty_db_dsn, tmp_path):
    migrations = _copy_sql(tmp_path)
    views = migrations.parent / "views"
    # Name order would run a_reader first; it reads b_source.
    (views / "a_reader.sql").write_text(
        "CREATE OR REPLACE VIEW queue.a_reader AS SELECT n + 1 AS m FROM queue.b_source;\n"
    )
    (views / "b_source.sql").write_text(
        "CREATE OR REPLACE VIEW queue.b_source AS SELECT 1 AS n;\n"
    )

    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])

    with psycopg.connect(empty_db_dsn) as conn:
        assert conn.execute("SELECT m FROM queue.a_reader").fetchone() == (2,)


def test_migrate_rolls_back_the_whole_run_when_an_object_file_fails(
    empty_db_dsn, tmp_path
):
    migrations = _copy_sql(tmp_path)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    (migrations / "9006_pre_table.sql").write_text(
        "-- 9006_pre_table: test only.\n\nCREATE TABLE queue.goes_with_the_views (id int);\n"
    )
    (migrations.parent / "views" / "zz_broken.sql").write_text(
        "CREATE OR REPLACE VIEW queue.zz_broken AS SELECT no_such_column FROM queue.queues;\n"
    )

    with pytest.raises(MigrationError, match=r"views/zz_broken\.sql failed"):
        migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])

    with psycopg.connect(empty_db_dsn) as conn:
        # The numbered file of the same run went with the object files: one transaction.
        assert conn.execute(
            "SELECT to_regclass('queue.goes_with_the_views')"
        ).fetchone() == (None,)
        assert conn.execute(
            "SELECT count(*) FROM queue.schema_migrations WHERE name = '9006_pre_table.sql'"
        ).fetchone() == (0,)
        # The objects that ran again before the broken one are as they were.
        assert conn.execute(
            "SELECT to_regproc('queue.enqueue_many') IS NOT NULL"
        ).fetchone() == (True,)


def test_migrate_restores_an_object_a_numbered_migration_dropped(
    empty_db_dsn, tmp_path
):
    migrations = _copy_sql(tmp_path)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    (migrations / "9002_pre_reshape.sql").write_text(
        "-- 9002_pre_reshape: test only.\n\nDROP VIEW queue.failures;\n"
    )

    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])

    with psycopg.connect(empty_db_dsn) as conn:
        assert conn.execute(
            "SELECT to_regclass('queue.failures') IS NOT NULL"
        ).fetchone() == (True,)


def test_migrate_forgets_the_record_of_a_removed_object_file(empty_db_dsn, tmp_path):
    migrations = _copy_sql(tmp_path)
    extra = migrations.parent / "views" / "scratch.sql"
    extra.write_text("CREATE OR REPLACE VIEW queue.scratch AS SELECT 1 AS n;\n")
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    extra.unlink()

    assert not migrate(
        empty_db_dsn, [procrastinate_line(), app_line("t", migrations)]
    ).changed

    with psycopg.connect(empty_db_dsn) as conn:
        assert conn.execute(
            "SELECT count(*) FROM queue.schema_migrations WHERE name = 'views/scratch.sql'"
        ).fetchone() == (0,)


def test_migrate_commits_before_a_no_transaction_file(empty_db_dsn, tmp_path):
    migrations = _copy_sql(tmp_path)
    migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])
    (migrations / "9003_pre_table.sql").write_text(
        "-- 9003_pre_table: test only.\n\nCREATE TABLE queue.marked (id int);\n"
    )
    (migrations / "9004_pre_index.sql").write_text(
        "-- 9004_pre_index: test only.\n-- migrate: no-transaction\n\n"
        "CREATE INDEX CONCURRENTLY marked_id_idx ON queue.marked (id);\n"
    )
    (migrations / "9005_pre_broken.sql").write_text(
        "-- 9005_pre_broken: test only.\n\nSELECT no_such_function();\n"
    )

    with pytest.raises(MigrationError, match=r"9005_pre_broken\.sql failed"):
        migrate(empty_db_dsn, [procrastinate_line(), app_line("t", migrations)])

    with psycopg.connect(empty_db_dsn) as conn:
        recorded = conn.execute(
            "SELECT name FROM queue.schema_migrations WHERE name LIKE '900%' ORDER BY name"
        ).fetchall()
        assert conn.execute(
            "SELECT to_regclass('queue.marked_id_idx') IS NOT NULL"
        ).fetchone() == (True,)
    assert recorded == [("9003_pre_table.sql",), ("9004_pre_index.sql",)]
