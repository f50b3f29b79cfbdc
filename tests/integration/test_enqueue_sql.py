"""queue.enqueue / queue.enqueue_many called as another service would: plain SQL."""

import asyncio
import json
import threading

import psycopg
import pytest
from psycopg.types.json import Jsonb

PAYMENT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 1500,
    "currency": "USD",
    "paymentMethodId": "pm_card_visa",
}
PAYMENT_KEY = (
    "payment-6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01-0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02"
    "-a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03-1500"
)


def nested(levels: int) -> object:
    """A value `levels` containers deep: {"a": {"a": ... 1}}."""
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def enqueue_sql(
    conn: psycopg.Connection, queue: str, job_type: str, data: object, **kwargs
):
    params = ", ".join(f"{name} => %({name})s" for name in kwargs)
    query = f"SELECT job_id, duplicate FROM queue.enqueue(%(queue)s, %(job_type)s, %(data)s{', ' + params if params else ''})"
    values = {"queue": queue, "job_type": job_type, "data": Jsonb(data), **kwargs}
    return conn.execute(query, values).fetchone()


def job_row(conn: psycopg.Connection, job_id: int):
    return conn.execute(
        "SELECT queue_name, task_name, priority, status, scheduled_at, args FROM procrastinate_jobs WHERE id = %s",
        (job_id,),
    ).fetchone()


def test_enqueue_commit_creates_job_and_wakes_listener(db_dsn):
    with (
        psycopg.connect(db_dsn, autocommit=True) as listener,
        psycopg.connect(db_dsn) as service,
    ):
        listener.execute('LISTEN "procrastinate_queue_v1#money"')
        job_id, duplicate = enqueue_sql(service, "money", "payment-process", PAYMENT)
        # Before the caller commits, nobody sees the job and nobody is woken.
        assert list(listener.notifies(timeout=0.3, stop_after=1)) == []
        with psycopg.connect(db_dsn) as other:
            assert job_row(other, job_id) is None
        service.commit()

        notifies = list(listener.notifies(timeout=5, stop_after=1))
        assert [json.loads(n.payload)["job_id"] for n in notifies] == [job_id]
        assert duplicate is False
        queue_name, task_name, priority, status, scheduled_at, args = job_row(
            listener, job_id
        )
        assert (queue_name, task_name, priority, status, scheduled_at) == (
            "money",
            "payment-process",
            10,
            "todo",
            None,
        )
        assert args["data"] == PAYMENT
        assert args["meta"]["idempotency_key"] == PAYMENT_KEY
        assert "enqueued_at" in args["meta"]


def test_enqueue_rollback_leaves_no_job_and_no_notification(db_dsn):
    with (
        psycopg.connect(db_dsn, autocommit=True) as listener,
        psycopg.connect(db_dsn) as service,
    ):
        listener.execute('LISTEN "procrastinate_queue_v1#money"')
        job_id, _ = enqueue_sql(service, "money", "payment-process", PAYMENT)
        service.rollback()
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        assert job_row(listener, job_id) is None
        count = listener.execute(
            "SELECT count(*) FROM queue.idempotency_keys"
        ).fetchone()
        assert count == (0,)
        # The key was released with the rollback: the same job can be enqueued again.
        job_id_again, duplicate = enqueue_sql(
            listener, "money", "payment-process", PAYMENT
        )
        assert duplicate is False and job_id_again != job_id


def test_enqueue_same_key_returns_existing_job(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        first = enqueue_sql(conn, "money", "payment-process", PAYMENT)
        second = enqueue_sql(conn, "money-queue", "payment-process", PAYMENT)
        assert first == (first[0], False)
        assert second == (first[0], True)
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            1,
        )


def test_keys_of_different_scopes_are_different_keys(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        orders = enqueue_sql(
            conn, "money", "payment-process", PAYMENT, key_scope="orders"
        )
        billing = enqueue_sql(
            conn, "money", "payment-process", PAYMENT, key_scope="billing"
        )
        shared = enqueue_sql(conn, "money", "payment-process", PAYMENT)
        again = enqueue_sql(
            conn, "money", "payment-process", PAYMENT, key_scope="orders"
        )
        batch = conn.execute(
            "SELECT job_id, duplicate FROM queue.enqueue_many(%s)",
            (
                Jsonb(
                    [
                        {
                            "queue": "money",
                            "job_type": "payment-process",
                            "data": PAYMENT,
                            "key_scope": "orders",
                        }
                    ]
                ),
            ),
        ).fetchall()

        assert len({orders[0], billing[0], shared[0]}) == 3
        assert again == (orders[0], True)
        assert batch == [(orders[0], True)]
        assert job_row(conn, orders[0])[5]["meta"]["idempotency_key"] == (
            "@orders:" + PAYMENT_KEY
        )
        assert job_row(conn, shared[0])[5]["meta"]["idempotency_key"] == PAYMENT_KEY


def test_enqueue_applies_defaults_aliases_and_options(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = enqueue_sql(
            conn,
            "background-queue",
            "analytics-track",
            {"eventType": "page_view"},
            run_at="2030-01-01T10:00:00Z",
            meta=Jsonb({"user_id": "u-1", "request_id": "r-1"}),
        )
        queue_name, _, priority, _, scheduled_at, args = job_row(conn, job_id)
        assert (queue_name, priority) == ("background", 3)
        assert scheduled_at.isoformat() == "2030-01-01T10:00:00+00:00"
        assert args["meta"]["user_id"] == "u-1" and args["meta"]["request_id"] == "r-1"
        assert args["meta"]["idempotency_key"] is None

        job_id, _ = enqueue_sql(conn, "background", "cleanup-old-data", {}, priority=9)
        assert job_row(conn, job_id)[2] == 9


def test_enqueue_renders_alternatives_and_builtin_date(db_dsn):
    event, ticket = PAYMENT["eventId"], "7d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    mint = {"eventId": event, "userId": PAYMENT["userId"], "walletAddress": "w-1"}
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = enqueue_sql(conn, "money", "nft-mint", {**mint, "ticketId": ticket})
        assert (
            job_row(conn, job_id)[5]["meta"]["idempotency_key"]
            == f"nft-{event}-{ticket}"
        )
        job_id, _ = enqueue_sql(
            conn,
            "money",
            "nft-mint",
            {**mint, "seatId": "A-12", "ticketId": ticket},
        )
        assert (
            job_row(conn, job_id)[5]["meta"]["idempotency_key"] == f"nft-{event}-A-12"
        )
        today = conn.execute(
            "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        ).fetchone()[0]
        job_id, _ = enqueue_sql(
            conn,
            "communication",
            "send-email",
            {"to": "a@example.com", "template": "welcome"},
        )
        assert (
            job_row(conn, job_id)[5]["meta"]["idempotency_key"]
            == f"email-welcome-a@example.com-{today}"
        )


def test_long_values_stand_in_keys_as_their_digest(db_dsn):
    text = "Doors open at 7 pm; bring this message and a photo id to gate B. " * 3
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = enqueue_sql(
            conn, "communication", "send-sms", {"to": "+15555550100", "message": text}
        )
        key = job_row(conn, job_id)[5]["meta"]["idempotency_key"]
        (digest, hour) = conn.execute(
            "SELECT md5(%s), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')",
            (text,),
        ).fetchone()
        assert key == f"sms-+15555550100-md5-{digest}-{hour}"
        # The same text again is the same message: one job.
        again = enqueue_sql(
            conn, "communication", "send-sms", {"to": "+15555550100", "message": text}
        )
        assert again == (job_id, True)


def test_enqueue_given_key_wins_over_template(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = enqueue_sql(
            conn,
            "money",
            "refund-process",
            {"transactionId": "pi_5", "amount": 5},
            idempotency_key="refund-custom-1",
        )
        assert job_row(conn, job_id)[5]["meta"]["idempotency_key"] == "refund-custom-1"


INVALID = [
    pytest.param(
        ("nope", "send-email", {}),
        {},
        "QS001",
        'unknown queue "nope"',
        id="unknown-queue",
    ),
    pytest.param(
        ("background", "nope", {}),
        {},
        "QS002",
        'unknown job type "nope"',
        id="unknown-type",
    ),
    pytest.param(
        ("money", "send-email", {"to": "a@b.co", "template": "t"}),
        {},
        "QS003",
        'job type "send-email" belongs to queue "communication", not "money"',
        id="type-not-in-queue",
    ),
    pytest.param(
        ("background", "analytics-track", [1]),
        {},
        "QS004",
        "data must be a JSON object, got array",
        id="data-array",
    ),
    pytest.param(
        ("background", "analytics-track", None),
        {},
        "QS004",
        "data must be a JSON object, got null",
        id="data-null",
    ),
    pytest.param(
        ("background", "analytics-track", {"blob": "x" * 70_000}),
        {},
        "QS005",
        "more than the limit of 65536",
        id="data-too-large",
    ),
    pytest.param(
        ("money", "payment-process", {"venueId": "v", "userId": "u", "amount": 1}),
        {},
        "QS006",
        'needs data field(s) "eventId"',
        id="missing-key-field",
    ),
    pytest.param(
        ("money", "nft-mint", {"eventId": "e"}),
        {},
        "QS006",
        '"seatId" or "ticketId"',
        id="missing-key-alternatives",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"priority": 11},
        "QS007",
        "priority must be an integer from 1 to 10, got 11",
        id="priority-high",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"priority": 0},
        "QS007",
        "got 0",
        id="priority-zero",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"idempotency_key": ""},
        "QS011",
        "idempotency_key must be a string of 1 to 512 bytes",
        id="empty-key",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"idempotency_key": "k" * 513},
        "QS011",
        "idempotency_key must be a string of 1 to 512 bytes",
        id="long-key",
    ),
    pytest.param(
        ("background", "analytics-track", {"properties": nested(32)}),
        {},
        "QS005",
        "data nests deeper than 32 levels",
        id="data-too-deep",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"idempotency_key": "@sub-0123:payment-1"},
        "QS011",
        'does not start with "@" (which marks a key scope)',
        id="key-reaching-into-a-scope",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"idempotency_key": "k", "key_scope": "a:b"},
        "QS011",
        'key_scope must be 1 to 64 letters, digits, "-" or "_", got "a:b"',
        id="bad-key-scope",
    ),
    pytest.param(
        ("background", "analytics-track", {"eventType": "x"}),
        {"idempotency_key": "k", "key_scope": "s" * 65},
        "QS011",
        "key_scope must be 1 to 64",
        id="long-key-scope",
    ),
]


@pytest.mark.parametrize(("args", "kwargs", "sqlstate", "message"), INVALID)
def test_enqueue_rejects_invalid_input(db_dsn, args, kwargs, sqlstate, message):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        queue, job_type, data = args
        with pytest.raises(psycopg.Error) as caught:
            if data is None:
                conn.execute(
                    "SELECT * FROM queue.enqueue(%s, %s, NULL)", (queue, job_type)
                )
            else:
                enqueue_sql(conn, queue, job_type, data, **kwargs)
        assert caught.value.sqlstate == sqlstate
        assert message in caught.value.diag.message_primary
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            0,
        )


def test_enqueue_rejects_key_of_another_type(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = enqueue_sql(conn, "money", "payment-process", PAYMENT)
        with pytest.raises(psycopg.Error) as caught:
            enqueue_sql(
                conn,
                "background",
                "analytics-track",
                {"eventType": "x"},
                idempotency_key=PAYMENT_KEY,
            )
        assert caught.value.sqlstate == "QS008"
        assert (
            f'belongs to job {job_id} of type "payment-process", not "analytics-track"'
            in str(caught.value)
        )
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            1,
        )


INVALID_BATCHES = [
    pytest.param(
        {"a": 1},
        "QS009",
        "jobs must be a JSON array of job objects, got object",
        id="not-array",
    ),
    pytest.param(
        [1],
        "QS009",
        "jobs[0]: a job must be a JSON object, got number",
        id="not-object",
    ),
    pytest.param(
        [
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {"eventType": "x"},
                "typo": 1,
            }
        ],
        "QS009",
        'jobs[0]: unknown field "typo"',
        id="unknown-field",
    ),
    pytest.param(
        [
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {"eventType": "x"},
            },
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {},
                "run_at": "tomorrow",
            },
        ],
        "QS009",
        'jobs[1]: run_at must be an ISO 8601 timestamp, got "tomorrow"',
        id="bad-run-at",
    ),
    pytest.param(
        [
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {},
                "meta": [1],
            }
        ],
        "QS010",
        "jobs[0]: meta must be a JSON object, got array",
        id="bad-meta",
    ),
    pytest.param(
        [
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {},
                "priority": 2.5,
            }
        ],
        "QS007",
        "jobs[0]: priority must be an integer from 1 to 10, got 2.5",
        id="fractional-priority",
    ),
    pytest.param(
        [
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {"eventType": "x"},
            },
            {"queue": "x", "job_type": "analytics-track", "data": {"eventType": "x"}},
        ],
        "QS001",
        'jobs[1]: unknown queue "x"',
        id="second-bad",
    ),
]


@pytest.mark.parametrize(("jobs", "sqlstate", "message"), INVALID_BATCHES)
def test_enqueue_many_rejects_the_whole_batch(db_dsn, jobs, sqlstate, message):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute("SELECT * FROM queue.enqueue_many(%s)", (Jsonb(jobs),))
        assert caught.value.sqlstate == sqlstate
        assert message in caught.value.diag.message_primary
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            0,
        )


def test_enqueue_takes_data_32_levels_deep_and_no_deeper(db_dsn):
    # The worker's and the API's bound, counted the same way: a value 32 steps
    # below `data` is taken, 33 is refused.
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        job_id, _ = enqueue_sql(
            conn, "background", "analytics-track", {"eventType": "x", "p": nested(31)}
        )
        assert job_id
        with pytest.raises(psycopg.Error) as caught:
            enqueue_sql(
                conn,
                "background",
                "analytics-track",
                {"eventType": "x", "p": nested(32)},
            )
        assert caught.value.sqlstate == "QS005"


def test_enqueue_many_refuses_more_than_100000_jobs_in_one_call(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(
                "SELECT count(*) FROM queue.enqueue_many((SELECT jsonb_agg(jsonb_build_object("
                "'queue', 'background', 'job_type', 'analytics-track',"
                " 'data', jsonb_build_object('eventType', 'x'))) FROM generate_series(1, 100001)))"
            )
        assert caught.value.sqlstate == "QS009"
        assert "100001 jobs, more than 100000" in caught.value.diag.message_primary
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            0,
        )


def test_enqueue_many_deduplicates_within_and_across_batches(db_dsn):
    job = {
        "queue": "background",
        "job_type": "analytics-track",
        "data": {"eventType": "x"},
    }
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT job_index, job_id, duplicate FROM queue.enqueue_many(%s)",
            (
                Jsonb(
                    [
                        job,
                        {**job, "idempotency_key": "k1"},
                        {**job, "idempotency_key": "k1"},
                        job,
                    ]
                ),
            ),
        ).fetchall()
        assert [(index, duplicate) for index, _, duplicate in rows] == [
            (0, False),
            (1, False),
            (2, True),
            (3, False),
        ]
        assert rows[1][1] == rows[2][1]
        assert len({rows[0][1], rows[1][1], rows[3][1]}) == 3

        again = conn.execute(
            "SELECT job_index, job_id, duplicate FROM queue.enqueue_many(%s)",
            (
                Jsonb(
                    [{**job, "idempotency_key": "k2"}, {**job, "idempotency_key": "k1"}]
                ),
            ),
        ).fetchall()
        assert again[1] == (1, rows[1][1], True)
        assert again[0][2] is False
        # The job deferred for the duplicate row was removed in the same call.
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            4,
        )


def test_enqueue_many_ten_thousand_jobs_in_one_call(db_dsn):
    jobs = [
        {
            "queue": "money",
            "job_type": "payment-process",
            "data": {**PAYMENT, "amount": 1 + i},
        }
        for i in range(10_000)
    ]
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT job_index, job_id, duplicate FROM queue.enqueue_many(%s)",
            (Jsonb(jobs),),
        ).fetchall()
        assert [row[0] for row in rows] == list(range(10_000))
        assert not any(row[2] for row in rows)
        # Each job got the key rendered from its own payload.
        mismatched = conn.execute(
            """
            SELECT count(*) FROM procrastinate_jobs AS j
            JOIN queue.idempotency_keys AS k ON k.job_id = j.id
            WHERE k.key <> j.args -> 'meta' ->> 'idempotency_key'
               OR k.key <> 'payment-' || (j.args -> 'data' ->> 'venueId') || '-' || (j.args -> 'data' ->> 'userId')
                           || '-' || (j.args -> 'data' ->> 'eventId') || '-' || (j.args -> 'data' ->> 'amount')
            """
        ).fetchone()
        assert mismatched == (0,)
        assert conn.execute(
            "SELECT count(*) FROM queue.idempotency_keys WHERE job_id IS NOT NULL"
        ).fetchone() == (10_000,)
        # Job ids follow the input order.
        ids = [row[1] for row in rows]
        amounts = conn.execute(
            "SELECT (args -> 'data' ->> 'amount')::int FROM procrastinate_jobs WHERE id = ANY(%s) ORDER BY id",
            (ids,),
        ).fetchall()
        assert [a for (a,) in amounts] == [1 + i for i in range(10_000)]
        assert sorted(ids) == ids


def test_enqueue_race_on_one_key_gives_one_job(db_dsn):
    """20 connections enqueue the same payment at the same moment."""
    racers = 20
    barrier = threading.Barrier(racers)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def race() -> None:
        try:
            with psycopg.connect(db_dsn) as conn:
                conn.execute("SELECT 1")  # connected before the start line
                barrier.wait(timeout=30)
                result = enqueue_sql(conn, "money", "payment-process", PAYMENT)
                conn.commit()
                results.append(result)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(results) == racers
    assert len({job_id for job_id, _ in results}) == 1
    assert sorted(duplicate for _, duplicate in results) == [False] + [True] * (
        racers - 1
    )
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            1,
        )


async def test_enqueue_race_of_overlapping_batches_does_not_deadlock(db_dsn):
    """Two batches claim the same keys in opposite input orders."""
    keys = [f"k-{i}" for i in range(200)]

    async def batch(order: list[str]) -> list[tuple[int, int, bool]]:
        jobs = [
            {
                "queue": "background",
                "job_type": "analytics-track",
                "data": {"eventType": "x"},
                "idempotency_key": k,
            }
            for k in order
        ]
        async with await psycopg.AsyncConnection.connect(db_dsn) as conn:
            cursor = await conn.execute(
                "SELECT * FROM queue.enqueue_many(%s)", (Jsonb(jobs),)
            )
            rows = await cursor.fetchall()
            await asyncio.sleep(
                0.2
            )  # hold the claimed keys while the other batch waits
            await conn.commit()
            return rows

    first, second = await asyncio.gather(batch(keys), batch(list(reversed(keys))))
    assert sum(not duplicate for _, _, duplicate in first + second) == 200
    async with await psycopg.AsyncConnection.connect(db_dsn) as conn:
        cursor = await conn.execute("SELECT count(*) FROM procrastinate_jobs")
        assert await cursor.fetchone() == (200,)


def test_enqueue_single_and_batch_build_the_same_job(db_dsn):
    """queue.enqueue has a fast path for jobs without keys; its jobs must equal the batch code's."""
    meta = {"user_id": "u-1", "request_id": "r-1"}
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        single, _ = enqueue_sql(
            conn,
            "background-queue",
            "analytics-track",
            {"eventType": "x"},
            priority=4,
            run_at="2031-02-03T04:05:06Z",
            meta=Jsonb(meta),
        )
        ((batch, _),) = conn.execute(
            "SELECT job_id, duplicate FROM queue.enqueue_many(%s)",
            (
                Jsonb(
                    [
                        {
                            "queue": "background-queue",
                            "job_type": "analytics-track",
                            "data": {"eventType": "x"},
                            "priority": 4,
                            "run_at": "2031-02-03T04:05:06Z",
                            "meta": meta,
                        }
                    ]
                ),
            ),
        ).fetchall()
        rows = conn.execute(
            "SELECT queue_name, task_name, priority, scheduled_at, args #- '{meta,enqueued_at}', "
            "args -> 'meta' ? 'enqueued_at' FROM procrastinate_jobs WHERE id IN (%s, %s) ORDER BY id",
            (single, batch),
        ).fetchall()
    assert rows[0] == rows[1]
    assert rows[0][5] is True


def test_enqueue_many_wakes_each_queue_once_per_statement(db_dsn):
    jobs = [
        {
            "queue": queue,
            "job_type": job_type,
            "data": {"eventType": "e", "userId": f"00000000-0000-4000-8000-{n:012d}"},
        }
        for n in range(50)
        for queue, job_type in (("background", "analytics-track"),)
    ] + [
        {
            "queue": "communication",
            "job_type": "send-push",
            "data": {
                "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
                "title": f"t{n}",
                "body": "b",
            },
        }
        for n in range(50)
    ]
    with (
        psycopg.connect(db_dsn, autocommit=True) as listener,
        psycopg.connect(db_dsn) as service,
    ):
        for channel in ("background", "communication", "money"):
            listener.execute(f'LISTEN "procrastinate_queue_v1#{channel}"')
        listener.execute('LISTEN "procrastinate_any_queue_v1"')
        ids = [
            row[1]
            for row in service.execute(
                "SELECT * FROM queue.enqueue_many(%s)",
                (Jsonb(jobs),),
            ).fetchall()
        ]
        service.commit()
        notifies = list(listener.notifies(timeout=1, stop_after=10))

    channels = sorted(n.channel for n in notifies)
    assert channels == [
        "procrastinate_any_queue_v1",
        "procrastinate_queue_v1#background",
        "procrastinate_queue_v1#communication",
    ]
    newest = {n.channel: json.loads(n.payload)["job_id"] for n in notifies}
    assert newest["procrastinate_queue_v1#background"] == max(ids[:50])
    assert newest["procrastinate_any_queue_v1"] == max(ids)
