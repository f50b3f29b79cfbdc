"""/api/v1/queue/jobs over HTTP against the real database."""

import psycopg

from tests.helpers.api import auth

JOBS = "/api/v1/queue/jobs"
VENUE = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"
PAYMENT = {
    "venueId": VENUE,
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 1500,
    "currency": "USD",
    "paymentMethodId": "pm_card_visa",
}


async def test_add_job_creates_it_and_get_shows_it(client, db_dsn):
    response = await client.post(
        JOBS,
        json={
            "queue": "money-queue",
            "type": "payment-process",
            "data": PAYMENT,
            "options": {"priority": 9, "attempts": 4},
        },
        headers={**auth("user", sub="u-7"), "X-Request-ID": "req-abc"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["X-Request-ID"] == "req-abc"
    body = response.json()
    assert body == {
        "jobId": body["jobId"],
        "queue": "money",
        "type": "payment-process",
        "status": "queued",
        "options": {"priority": 9, "delay": None, "attempts": 4},
    }

    shown = await client.get(f"{JOBS}/{body['jobId']}", headers=auth("user", sub="u-7"))
    assert shown.status_code == 200
    job = shown.json()
    assert (job["state"], job["priority"], job["maxAttempts"], job["requestId"]) == (
        "waiting",
        9,
        4,
        "req-abc",
    )
    assert job["data"] == PAYMENT
    with psycopg.connect(db_dsn) as conn:
        (meta,) = conn.execute(
            "SELECT args -> 'meta' FROM procrastinate_jobs WHERE id = %s",
            (body["jobId"],),
        ).fetchone()
    assert (
        meta["user_id"] == "u-7"
        and meta["venue_id"] == VENUE
        and meta["request_id"] == "req-abc"
    )


async def test_add_job_rejects_bad_data_with_pointers(client):
    response = await client.post(
        JOBS,
        json={
            "queue": "money",
            "type": "payment-process",
            "data": {**PAYMENT, "amount": 0},
        },
        headers=auth("admin"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/invalid-job-data"
    assert {
        "detail": "Input should be greater than 0",
        "pointer": "/data/amount",
    } in problem["errors"]
    assert problem["instance"] == JOBS and problem["request_id"]


async def test_add_job_requires_a_token(client):
    response = await client.post(
        JOBS, json={"queue": "money", "type": "payment-process", "data": PAYMENT}
    )
    assert response.status_code == 401
    assert response.json()["title"] == "Unauthorized"
