"""queue_producer may only enqueue; queue_reader may only read the views."""

import uuid

import psycopg
import pytest
from psycopg import conninfo, sql


@pytest.fixture
def login_as(db_dsn):
    created: list[str] = []

    def make(group: str) -> str:
        name = f"test_{group}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(
                    sql.Identifier(name), sql.Identifier(group)
                )
            )
        created.append(name)
        return conninfo.make_conninfo(db_dsn, user=name)

    yield make
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        for name in created:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(name)))


def test_producer_enqueues_inside_its_own_transaction(login_as, db_dsn):
    with psycopg.connect(login_as("queue_producer")) as producer:
        _, duplicate = producer.execute(
            "SELECT * FROM queue.enqueue('background', 'analytics-track', '{\"eventType\": \"x\"}')"
        ).fetchone()
        rows = producer.execute(
            'SELECT * FROM queue.enqueue_many(\'[{"queue": "background", "job_type": "analytics-track", "data": {"eventType": "x"}}]\')'
        ).fetchall()
        producer.commit()
    assert duplicate is False and len(rows) == 1
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            2,
        )


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM procrastinate_jobs",
        "INSERT INTO procrastinate_jobs (queue_name, task_name) VALUES ('money', 'payment-process')",
        "UPDATE procrastinate_jobs SET status = 'failed'",
        "DELETE FROM procrastinate_jobs",
        "SELECT * FROM procrastinate_events",
        "SELECT * FROM queue.idempotency_keys",
        "SELECT * FROM queue.jobs",
        "UPDATE queue.queues SET paused = true",
        "SELECT * FROM queue.enqueue_jobs('[]', false, false)",
        "SELECT procrastinate_defer_jobs_v1(ARRAY[]::procrastinate_job_to_defer_v1[])",
        "SELECT queue.cancel_job(1)",
        "SELECT queue.retry_failed_jobs('money')",
        "SELECT * FROM queue.run_retention()",
        "SELECT * FROM queue.fetch_jobs('money', 1, 10)",
        "SELECT * FROM queue.rescue_stalled_jobs(30)",
    ],
)
def test_producer_is_refused_everything_else(login_as, statement):
    with psycopg.connect(login_as("queue_producer"), autocommit=True) as producer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            producer.execute(statement)


def test_producers_cannot_skip_the_payload_checks(login_as):
    # queue.enqueue_many_checked is the service's own path, for payloads its
    # Python code has checked; a producer goes through queue.enqueue_many.
    with psycopg.connect(login_as("queue_producer"), autocommit=True) as producer:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            producer.execute("SELECT * FROM queue.enqueue_many_checked('[]'::jsonb)")


def test_reader_reads_the_views_only(login_as, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            """SELECT * FROM queue.enqueue('background', 'analytics-track', '{"eventType": "x"}')"""
        )
    with psycopg.connect(login_as("queue_reader"), autocommit=True) as reader:
        assert len(reader.execute("SELECT * FROM queue.overview").fetchall()) == 4
        assert len(reader.execute("SELECT * FROM queue.jobs").fetchall()) == 1
        assert reader.execute("SELECT count(*) FROM queue.failures").fetchone() == (0,)
        for statement in (
            "SELECT * FROM procrastinate_jobs",
            """SELECT * FROM queue.enqueue('background', 'analytics-track', '{"eventType": "x"}')""",
            "UPDATE queue.queues SET paused = true",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(statement)
