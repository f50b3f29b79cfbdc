"""app.services.enqueue: validation first, then the SQL path, in the caller's transaction."""

import subprocess
import sys
from datetime import UTC, datetime

import psycopg
import pytest

from app.domain.errors import (
    IdempotencyKeyConflict,
    InvalidEnqueueRequest,
    JobTypeNotInQueue,
    PayloadInvalid,
    UnknownJobType,
    UnknownQueue,
)
from app.services.enqueue import JobRequest, enqueue, enqueue_many

PAYMENT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 1500,
    "currency": "usd",
    "paymentMethodId": "pm_card_visa",
}


async def count_jobs(conn) -> int:
    cursor = await conn.execute("SELECT count(*) FROM procrastinate_jobs")
    return (await cursor.fetchone())[0]


async def test_enqueue_stores_data_exactly_as_given(conn):
    data = {**PAYMENT, "extra": {"note": "kept as is"}}
    result = await enqueue(
        conn,
        queue="money",
        job_type="payment-process",
        data=data,
        meta={"request_id": "r-9"},
    )
    cursor = await conn.execute(
        "SELECT args FROM procrastinate_jobs WHERE id = %s", (result.job_id,)
    )
    (args,) = await cursor.fetchone()
    assert result.duplicate is False
    assert args["data"] == data
    assert args["meta"]["request_id"] == "r-9"


async def test_enqueue_rolls_back_with_the_callers_transaction(conn):
    with pytest.raises(RuntimeError, match="the caller's own failure"):
        async with conn.transaction():
            await enqueue(conn, queue="money", job_type="payment-process", data=PAYMENT)
            raise RuntimeError("the caller's own failure")
    assert await count_jobs(conn) == 0


async def test_enqueue_commits_with_the_callers_transaction(conn):
    async with conn.transaction():
        first = await enqueue(
            conn, queue="money", job_type="payment-process", data=PAYMENT
        )
        again = await enqueue(
            conn, queue="money", job_type="payment-process", data=PAYMENT
        )
    assert again.job_id == first.job_id and again.duplicate
    assert await count_jobs(conn) == 1


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ({**PAYMENT, "amount": 0}, "/data/amount"),
        ({**PAYMENT, "amount": 1_000_001}, "/data/amount"),
        ({**PAYMENT, "currency": "dollars"}, "/data/currency"),
        ({**PAYMENT, "userId": "not-a-uuid"}, "/data/userId"),
        (
            {k: v for k, v in PAYMENT.items() if k != "paymentMethodId"},
            "/data/paymentMethodId",
        ),
    ],
)
async def test_enqueue_validates_before_touching_the_database(conn, data, pointer):
    with pytest.raises(PayloadInvalid) as caught:
        await enqueue(conn, queue="money", job_type="payment-process", data=data)
    assert pointer in [error["pointer"] for error in caught.value.errors]
    assert await count_jobs(conn) == 0


@pytest.mark.parametrize(
    ("queue", "job_type", "data", "kwargs", "error"),
    [
        ("nope", "analytics-track", {"eventType": "x"}, {}, UnknownQueue),
        ("background", "no-such-type", {}, {}, UnknownJobType),
        ("money", "analytics-track", {"eventType": "x"}, {}, JobTypeNotInQueue),
        (
            "background",
            "analytics-track",
            {"eventType": "x"},
            {"priority": 42},
            Exception,
        ),
        (
            "background",
            "analytics-track",
            {"eventType": "x"},
            {"idempotency_key": ""},
            InvalidEnqueueRequest,
        ),
    ],
)
async def test_enqueue_maps_database_refusals_to_service_errors(
    conn, queue, job_type, data, kwargs, error
):
    with pytest.raises(error) as caught:
        await enqueue(conn, queue=queue, job_type=job_type, data=data, **kwargs)
    assert caught.value.status in range(400, 500)  # type: ignore[attr-defined]
    assert await count_jobs(conn) == 0


async def test_enqueue_key_of_another_type_is_a_conflict(conn):
    await enqueue(
        conn,
        queue="background",
        job_type="analytics-track",
        data={"eventType": "x"},
        idempotency_key="k",
    )
    with pytest.raises(
        IdempotencyKeyConflict, match=r'belongs to job \d+ of type "analytics-track"'
    ):
        await enqueue(
            conn,
            queue="background",
            job_type="cleanup-old-data",
            data={},
            idempotency_key="k",
        )


async def test_enqueue_many_returns_results_in_order(conn):
    run_at = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)
    results = await enqueue_many(
        conn,
        [
            JobRequest("money", "payment-process", PAYMENT),
            JobRequest(
                "background", "analytics-track", {"eventType": "x"}, run_at=run_at
            ),
            JobRequest("money-queue", "payment-process", PAYMENT),
        ],
    )
    assert [r.duplicate for r in results] == [False, False, True]
    assert results[0].job_id == results[2].job_id
    cursor = await conn.execute(
        "SELECT scheduled_at FROM procrastinate_jobs WHERE id = %s",
        (results[1].job_id,),
    )
    assert (await cursor.fetchone())[0] == run_at


async def test_enqueue_many_points_at_the_bad_job(conn):
    with pytest.raises(PayloadInvalid) as caught:
        await enqueue_many(
            conn,
            [
                JobRequest("money", "payment-process", PAYMENT),
                JobRequest("money", "payment-process", {**PAYMENT, "amount": -1}),
            ],
        )
    assert caught.value.errors[0]["pointer"] == "/jobs/1/data/amount"
    assert str(caught.value).startswith("jobs[1]: ")
    assert await count_jobs(conn) == 0


def test_cli_enqueue_prints_the_job_and_duplicates(db_dsn):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", "enqueue", *args],
            env={"DATABASE_URL": db_dsn, "QUEUE_ENV": "dev", "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    first = run("money", "refund-process", '{"transactionId": "pi_1"}')
    second = run(
        "money",
        "refund-process",
        '{"transactionId": "pi_1"}',
        "--idempotency-key",
        "refund-pi_1",
    )
    later = run(
        "background",
        "analytics-track",
        '{"eventType": "x"}',
        "--run-at",
        "2030-01-01T00:00:00+00:00",
    )
    bad = run("money", "refund-process", '{"transactionId": ""}')

    assert first.returncode == 0, first.stderr
    job_id = int(first.stdout.split('"job_id": ')[1].split(",")[0])
    assert first.stdout.strip() == f'{{"job_id": {job_id}, "duplicate": false}}'
    assert second.stdout.strip() == f'{{"job_id": {job_id}, "duplicate": true}}'
    assert later.returncode == 0, later.stderr
    assert bad.returncode == 1 and "/data/transactionId" in bad.stderr
    with psycopg.connect(db_dsn) as check:
        assert check.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            2,
        )
