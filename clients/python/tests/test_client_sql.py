"""The SQL helpers on the caller's own connection, against the real PostgreSQL."""

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from queue_service_client import (
    AnalyticsTrack,
    Dependency,
    InvalidDependency,
    InvalidJobData,
    PaymentProcess,
    SendEmail,
    UnknownQueue,
    ValueRefused,
)
from queue_service_client.sql import (
    ENQUEUE_MANY_SQL,
    ENQUEUE_MANY_SQL_NAMED,
    ENQUEUE_SQL,
    ENQUEUE_SQL_NAMED,
    enqueue_many_params,
    enqueue_many_sql,
    enqueue_many_sql_async,
    enqueue_params,
    enqueue_sql,
    enqueue_sql_async,
    read_row,
    sql_job,
)
from queue_service_client.testing import (
    assert_enqueued_sql,
    assert_enqueued_sql_async,
    refute_enqueued_sql,
)

pytestmark = pytest.mark.integration

VENUE = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e01")
EVENT = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e03")


def payment(**changes: object) -> PaymentProcess:
    fields: dict[str, object] = {
        "venue_id": VENUE,
        "user_id": uuid.uuid4(),
        "event_id": EVENT,
        "amount": 1500,
        "payment_method_id": "pm_1",
    }
    return PaymentProcess(**{**fields, **changes})


@pytest.fixture
def caller(db_dsn: str) -> Iterator[psycopg.Connection]:
    """The caller's connection: transactions of its own, as an application has."""
    with psycopg.connect(db_dsn) as conn:
        yield conn


@pytest.fixture
def observer(db_dsn: str) -> Iterator[psycopg.Connection]:
    """Another session: it sees only what has been committed."""
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
async def async_caller(db_dsn: str) -> AsyncIterator[psycopg.AsyncConnection]:
    async with await psycopg.AsyncConnection.connect(db_dsn) as conn:
        yield conn


def test_enqueue_sql_job_is_visible_only_after_the_caller_commits(caller, observer):
    with caller.transaction():
        caller.execute("CREATE TABLE orders (id int)")
        caller.execute("INSERT INTO orders VALUES (1)")
        made = enqueue_sql(caller, payment(amount=4200))
        assert (
            assert_enqueued_sql(caller, PaymentProcess, {"amount": 4200}) == made.job_id
        )
        refute_enqueued_sql(observer, PaymentProcess, {"amount": 4200})

    assert not made.duplicate
    assert (
        assert_enqueued_sql(observer, "payment-process", {"amount": 4200})
        == made.job_id
    )
    assert observer.execute("SELECT count(*) FROM orders").fetchone() == (1,)


def test_enqueue_sql_job_is_rolled_back_with_the_callers_transaction(caller, observer):
    with pytest.raises(RuntimeError), caller.transaction():
        made = enqueue_sql(caller, AnalyticsTrack(event_type="rolled-back"))
        raise RuntimeError("the caller's own failure")

    refute_enqueued_sql(observer, AnalyticsTrack, {"event_type": "rolled-back"})
    rows = observer.execute(
        "SELECT count(*) FROM queue.jobs WHERE id = %s", (made.job_id,)
    ).fetchone()
    assert rows == (0,)


def test_enqueue_sql_idempotent_replay_returns_the_first_job(caller):
    key = f"order-{uuid.uuid4()}"
    with caller.transaction():
        first = enqueue_sql(caller, AnalyticsTrack(event_type="o"), idempotency_key=key)
    with caller.transaction():
        again = enqueue_sql(caller, AnalyticsTrack(event_type="o"), idempotency_key=key)

    assert (again.job_id, again.duplicate) == (first.job_id, True)
    assert not first.duplicate


def test_enqueue_sql_template_key_replay_is_a_duplicate(caller):
    data = payment()
    with caller.transaction():
        first = enqueue_sql(caller, data)
        again = enqueue_sql(caller, data)
    assert (again.job_id, again.duplicate) == (first.job_id, True)


def test_enqueue_sql_invalid_payload_is_invalid_job_data(caller, observer):
    with pytest.raises(InvalidJobData) as raised, caller.transaction():
        enqueue_sql(
            caller,
            "payment-process",
            {**payment().to_data(), "amount": -1},
            idempotency_key="bad-amount",
        )

    error = raised.value
    assert error.status == 422
    assert error.type == "/problems/invalid-job-data"
    assert error.sqlstate == "QS004"
    assert "/data/amount" in error.detail and "greater than 0" in error.detail
    assert isinstance(error.__cause__, psycopg.Error)
    refute_enqueued_sql(observer, PaymentProcess)


def test_enqueue_sql_unknown_queue_is_unknown_queue(caller):
    with pytest.raises(UnknownQueue) as raised, caller.transaction():
        enqueue_sql(caller, "analytics-track", {"eventType": "x"}, queue="mony")
    assert raised.value.sqlstate == "QS001"
    assert 'unknown queue "mony"' in raised.value.detail


def test_enqueue_sql_nul_in_data_is_value_refused(caller):
    with pytest.raises(ValueRefused) as raised, caller.transaction():
        enqueue_sql(caller, "analytics-track", {"eventType": "a\x00b"})
    assert raised.value.status == 422
    assert raised.value.sqlstate == "22P05"


def test_enqueue_sql_traceparent_and_meta_go_in_the_jobs_meta(caller, observer):
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    with caller.transaction():
        made = enqueue_sql(
            caller,
            AnalyticsTrack(event_type="traced"),
            meta={"request_id": "req-1"},
            traceparent=trace,
        )
    (meta,) = observer.execute(
        "SELECT meta FROM queue.jobs WHERE id = %s", (made.job_id,)
    ).fetchone()
    assert meta["traceparent"] == trace
    assert meta["request_id"] == "req-1"


def test_enqueue_sql_options_reach_the_job(caller, observer):
    at = datetime.now(UTC) + timedelta(hours=3)
    with caller.transaction():
        first = enqueue_sql(caller, AnalyticsTrack(event_type="first"))
        made = enqueue_sql(
            caller,
            AnalyticsTrack(event_type="options"),
            priority=8,
            run_at=at,
            concurrency_key="venue:1",
            depends_on=[first.job_id],
            key_scope="orders",
            idempotency_key="k-1",
        )
    row = observer.execute(
        "SELECT priority, concurrency_key, held, idempotency_key FROM queue.jobs WHERE id = %s",
        (made.job_id,),
    ).fetchone()
    assert row == (8, "venue:1", True, "@orders:k-1")


def test_enqueue_sql_naive_run_at_is_refused_before_sending(caller):
    with pytest.raises(ValueError, match="timezone-aware"):
        enqueue_sql(
            caller,
            AnalyticsTrack(event_type="x"),
            run_at=datetime(2030, 1, 1),  # noqa: DTZ001
        )


def test_enqueue_many_sql_is_all_or_nothing_with_index_dependencies(caller, observer):
    with caller.transaction():
        made = enqueue_many_sql(
            caller,
            [
                payment(),
                sql_job(
                    SendEmail(to="a@example.com", template="receipt"),
                    depends_on=[Dependency(index=0, on_failure="run")],
                ),
            ],
        )
    assert [r.job_index for r in made] == [0, 1]
    (held,) = observer.execute(
        "SELECT held FROM queue.jobs WHERE id = %s", (made[1].job_id,)
    ).fetchone()
    assert held is True

    with pytest.raises(InvalidJobData) as raised, caller.transaction():
        enqueue_many_sql(
            caller,
            [AnalyticsTrack(event_type="kept?"), sql_job("analytics-track", {})],
        )
    assert raised.value.detail.startswith("jobs[1]")
    refute_enqueued_sql(observer, AnalyticsTrack, {"eventType": "kept?"})


def test_enqueue_many_sql_dependency_on_a_later_job_is_refused(caller):
    with pytest.raises(InvalidDependency), caller.transaction():
        enqueue_many_sql(
            caller,
            [sql_job(AnalyticsTrack(event_type="x"), depends_on=[Dependency(index=1)])],
        )


async def test_enqueue_sql_async_commits_with_the_caller(async_caller, observer):
    async with async_caller.transaction():
        made = await enqueue_sql_async(async_caller, AnalyticsTrack(event_type="async"))
        found = await assert_enqueued_sql_async(
            async_caller, AnalyticsTrack, {"event_type": "async"}
        )
        assert found == made.job_id
        refute_enqueued_sql(observer, AnalyticsTrack, {"event_type": "async"})
    assert (
        assert_enqueued_sql(observer, AnalyticsTrack, {"eventType": "async"})
        == made.job_id
    )


async def test_enqueue_sql_async_refusal_and_rollback(async_caller, observer):
    with pytest.raises(InvalidJobData):
        async with async_caller.transaction():
            await enqueue_many_sql_async(
                async_caller,
                [
                    AnalyticsTrack(event_type="async-many"),
                    sql_job("analytics-track", {}),
                ],
            )
    async with async_caller.transaction():
        made = await enqueue_many_sql_async(
            async_caller, [AnalyticsTrack(event_type="async-many")]
        )
    assert assert_enqueued_sql(
        observer, AnalyticsTrack, {"eventType": "async-many"}
    ) == (made[0].job_id)


def test_client_side_binding_cursor_works_as_django_does(db_dsn, observer):
    # Django 4.2+ on psycopg 3 binds parameters client-side, like psycopg2.
    with psycopg.connect(db_dsn, cursor_factory=psycopg.ClientCursor) as conn:
        with conn.transaction():
            made = enqueue_sql(conn, SendEmail(to="c@example.com", template="hi"))
    assert (
        assert_enqueued_sql(observer, SendEmail, {"to": "c@example.com"}) == made.job_id
    )


def test_dict_rows_are_read_too(db_dsn, observer):
    with psycopg.connect(db_dsn, row_factory=dict_row) as conn:
        with conn.transaction():
            one = enqueue_sql(conn, AnalyticsTrack(event_type="dict-row"))
            many = enqueue_many_sql(conn, [AnalyticsTrack(event_type="dict-rows")])
        assert (
            assert_enqueued_sql(conn, AnalyticsTrack, {"eventType": "dict-row"})
            == one.job_id
        )
    assert many[0].job_id > one.job_id


def test_sql_text_and_params_run_on_a_plain_cursor(caller, observer):
    # What a SQLAlchemy (exec_driver_sql) or Django (cursor.execute) caller runs.
    with caller.transaction(), caller.cursor() as cursor:
        cursor.execute(ENQUEUE_SQL, enqueue_params(AnalyticsTrack(event_type="raw")))
        one = read_row(cursor.fetchone())
        cursor.execute(
            ENQUEUE_MANY_SQL,
            enqueue_many_params(
                [sql_job("analytics-track", {"eventType": "raw-many"})]
            ),
        )
        (many,) = [read_row(row) for row in cursor.fetchall()]
    assert (
        assert_enqueued_sql(observer, AnalyticsTrack, {"eventType": "raw"})
        == one.job_id
    )
    assert many.job_index == 0


def test_named_sql_has_the_same_parameters():
    params = enqueue_params(AnalyticsTrack(event_type="x"))
    assert set(re.findall(r"(?<!:):(\w+)", ENQUEUE_SQL_NAMED)) == set(params)
    assert set(re.findall(r"%\((\w+)\)s", ENQUEUE_SQL)) == set(params)
    assert re.findall(r"(?<!:):(\w+)", ENQUEUE_MANY_SQL_NAMED) == ["jobs"]
    assert "%(" not in ENQUEUE_SQL_NAMED


@pytest.fixture
def producer_dsn(db_dsn: str) -> Iterator[str]:
    """A login role with the service's producer and reader roles only."""
    role = f"client_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db_dsn, autocommit=True) as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN IN ROLE queue_producer, queue_reader").format(
                sql.Identifier(role)
            )
        )
        # queue.jobs reads procrastinate's tables as its owner; the role reads the view.
        try:
            yield psycopg.conninfo.make_conninfo(db_dsn, user=role)
        finally:
            admin.execute(
                sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(
                    sql.Identifier(role), sql.Identifier(role)
                )
            )


def test_enqueue_sql_needs_only_the_producer_role(producer_dsn, observer):
    with psycopg.connect(producer_dsn) as conn:
        with conn.transaction():
            made = enqueue_sql(conn, AnalyticsTrack(event_type="as-producer"))
        assert assert_enqueued_sql(
            conn, AnalyticsTrack, {"eventType": "as-producer"}
        ) == (made.job_id)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM procrastinate_jobs")
