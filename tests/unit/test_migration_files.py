import importlib.metadata
import re
from pathlib import Path

import pytest

from app.db.migrations import MigrationError, MigrationFile, app_line
from app.queue import procrastinate_line

REPO = Path(__file__).resolve().parents[2]
APP_NAME = r"^\d{4}_(pre|post)_[a-z0-9_]+\.sql$"


@pytest.mark.parametrize(
    "name", ["1_add.sql", "0001_add.sql", "0001_mid_add.sql", "0001_pre_Add.sql"]
)
def test_app_line_badly_named_file_is_error(tmp_path, name):
    (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=name):
        app_line("x", tmp_path)


def test_app_line_reads_phases_in_order(tmp_path):
    (tmp_path / "0002_post_b.sql").write_text("SELECT 2;")
    (tmp_path / "0001_pre_a.sql").write_text("SELECT 1;")
    line = app_line("x", tmp_path)
    assert [(f.name, f.phase, f.sql) for f in line.files] == [
        ("0001_pre_a.sql", "pre", "SELECT 1;"),
        ("0002_post_b.sql", "post", "SELECT 2;"),
    ]
    assert (line.name, line.version, line.baseline) == ("app", "x", None)


def test_app_line_ignores_non_sql_files(tmp_path):
    (tmp_path / "0001_pre_a.sql").write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("notes")
    assert [f.name for f in app_line("x", tmp_path).files] == ["0001_pre_a.sql"]


def test_migration_file_no_transaction_header_is_not_transactional():
    sql = "-- Build an index.\n-- migrate: no-transaction\n\nCREATE INDEX CONCURRENTLY i ON t (x);"
    assert MigrationFile(name="0003_pre_i.sql", sql=sql).transactional is False


def test_migration_file_without_header_is_transactional():
    sql = "-- Add a table.\n\nCREATE TABLE t (x int);"
    assert MigrationFile(name="0003_pre_t.sql", sql=sql).transactional is True


def test_migration_file_no_transaction_after_header_is_transactional():
    sql = "-- Add a table.\n\n-- migrate: no-transaction\nCREATE TABLE t (x int);"
    assert MigrationFile(name="0003_pre_t.sql", sql=sql).transactional is True


def test_migration_file_checksum_changes_with_text():
    one = MigrationFile(name="0001_pre_a.sql", sql="SELECT 1;")
    same = MigrationFile(name="0001_pre_a.sql", sql="SELECT 1;")
    edited = MigrationFile(name="0001_pre_a.sql", sql="SELECT 1; ")
    assert one.checksum == same.checksum
    assert one.checksum != edited.checksum
    assert len(one.checksum) == 64


def test_app_line_real_files_follow_naming_rule():
    line = app_line("test")
    assert line.files
    assert all(re.match(APP_NAME, f.name) for f in line.files)
    assert [f.name for f in line.files] == sorted(f.name for f in line.files)


def test_sql_directory_holds_no_procrastinate_schema():
    files = [path for path in (REPO / "sql").rglob("*") if path.is_file()]
    assert files
    copied = [
        path for path in files if "CREATE TABLE procrastinate_jobs" in path.read_text()
    ]
    assert copied == []


def test_procrastinate_line_baseline_is_schema_sql():
    line = procrastinate_line()
    assert line.baseline is not None
    assert line.baseline.name == "schema.sql"
    assert "CREATE TABLE procrastinate_jobs" in line.baseline.sql


def test_procrastinate_line_reads_shipped_migrations():
    files = procrastinate_line().files
    assert len(files) > 30
    assert all(f.name.endswith(".sql") for f in files)
    assert [f.name for f in files] == sorted(f.name for f in files)


def test_procrastinate_line_post_files_have_post_phase():
    files = procrastinate_line().files
    post = [f for f in files if "_post_" in f.name]
    assert post
    assert all(f.phase == "post" for f in post)
    assert all(f.phase == "pre" for f in files if "_post_" not in f.name)


def test_procrastinate_line_version_is_installed_version():
    version = importlib.metadata.version("procrastinate")
    assert version.startswith("3.10.")
    assert procrastinate_line().version == version


def test_app_line_refuses_two_files_with_one_number(tmp_path):
    (tmp_path / "0001_pre_a.sql").write_text("SELECT 1;\n")
    (tmp_path / "0001_post_b.sql").write_text("SELECT 2;\n")
    with pytest.raises(MigrationError, match="share number 0001"):
        app_line("x", tmp_path)


def test_every_enqueue_check_has_its_sqlstate_and_message():
    functions = REPO / "sql" / "functions"
    decided = set(
        re.findall(r"THEN '([a-z_]+)'", (functions / "enqueue_jobs.sql").read_text())
    )
    reported = set(
        re.findall(
            r"\('([a-z_]+)', 'QS\d{3}'", (functions / "enqueue_problem.sql").read_text()
        )
    )
    assert len(decided) == 20
    assert decided == reported


def test_each_object_file_defines_the_object_it_is_named_after():
    for kind, word in (
        ("functions", "FUNCTION"),
        ("views", "VIEW"),
        ("triggers", "TRIGGER"),
    ):
        for path in (REPO / "sql" / kind).glob("*.sql"):
            name = path.stem
            pattern = rf"CREATE OR REPLACE {word} (queue\.)?{name}\b"
            assert len(re.findall(pattern, path.read_text())) == 1, path
