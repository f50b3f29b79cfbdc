"""migrate writes queue.job_types from the job-type catalogue."""

import psycopg

from app.cli import run_migrations
from app.domain.job_types import CATALOGUE


def _rows(dsn):
    with psycopg.connect(dsn) as conn:
        return {
            name: rest
            for name, *rest in conn.execute(
                "SELECT name, queue, default_priority, idempotency_key_template, keep_succeeded, "
                "provider, bucket, description FROM queue.job_types"
            ).fetchall()
        }


def test_migrate_writes_a_row_per_catalogued_type(db_dsn):
    rows = _rows(db_dsn)
    for name, entry in CATALOGUE.items():
        assert rows[name] == [
            entry.queue,
            entry.default_priority,
            entry.key_template,
            entry.keep_succeeded,
            entry.provider,
            entry.bucket,
            entry.description,
        ], name


def test_migrate_restores_a_catalogued_row_and_keeps_a_type_added_in_sql(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE queue.job_types SET default_priority = 1 WHERE name = 'send-sms'"
        )
        conn.execute(
            "INSERT INTO queue.job_types (name, queue, default_priority, description) "
            "VALUES ('ticket-scan', 'background', 2, 'Added by an operator.')"
        )

    report = run_migrations(db_dsn)

    assert report.applied == [("app", "job_types/send-sms")]
    rows = _rows(db_dsn)
    assert rows["send-sms"][1] == CATALOGUE["send-sms"].default_priority
    assert rows["ticket-scan"][:2] == ["background", 2]
    assert not run_migrations(db_dsn).changed


def test_every_catalogued_provider_and_bucket_exists(db_dsn):
    with psycopg.connect(db_dsn) as conn:
        breakers = {
            name
            for (name,) in conn.execute("SELECT provider FROM queue.circuit_breakers")
        }
        buckets = {
            name for (name,) in conn.execute("SELECT name FROM queue.rate_limits")
        }
    for entry in CATALOGUE.values():
        if entry.provider is not None:
            assert entry.provider in breakers, entry.name
            assert entry.bucket in buckets, entry.name
