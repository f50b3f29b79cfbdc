"""GET /api/v1/queue/jobs/:id/explain over HTTP: why a job is not running, to whom."""

import psycopg

from tests.helpers.api import auth

JOBS = "/api/v1/queue/jobs"
VENUE = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"
OTHER_VENUE = "0d7c1a52-1d1e-4f0e-8f3e-9a1b2c3d4e5f"
PAYMENT = {
    "venueId": VENUE,
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 1500,
    "currency": "USD",
    "paymentMethodId": "pm_card_visa",
}
OWNER = auth("user", sub="u-7")


async def _add_payment(client, *, delay_ms=None, amount=1500):
    response = await client.post(
        JOBS,
        json={
            "queue": "money",
            "type": "payment-process",
            "data": {**PAYMENT, "amount": amount},
            "options": {"delay": delay_ms},
        },
        headers=OWNER,
    )
    assert response.status_code == 201, response.text
    return response.json()["jobId"]


async def test_explain_names_every_reason_with_typed_fields(client):
    job_id = await _add_payment(client, delay_ms=3_600_000)
    paused = await client.post(f"{JOBS[:-5]}/queues/money/pause", headers=auth("admin"))
    assert paused.status_code == 200, paused.text

    response = await client.get(f"{JOBS}/{job_id}/explain", headers=OWNER)

    assert response.status_code == 200, response.text
    body = response.json()
    job = (await client.get(f"{JOBS}/{job_id}", headers=OWNER)).json()
    assert (body["jobId"], body["state"]) == (job_id, "delayed")
    assert [r["reason"] for r in body["reasons"]] == [
        "scheduled",
        "queue_paused",
        "no_worker",
    ]
    scheduled, paused_reason, no_worker = body["reasons"]
    assert set(scheduled) == {"reason", "detail", "until", "blockingJobId"}
    assert scheduled["detail"].startswith("scheduled for later: runs at ")
    assert scheduled["until"] is not None
    assert scheduled["until"][:19] == job["scheduledFor"][:19]
    assert paused_reason == {
        "reason": "queue_paused",
        "detail": "queue money is paused",
        "until": None,
        "blockingJobId": None,
    }
    assert no_worker["detail"] == "no worker is listening to queue money"


async def test_explain_gives_the_job_holding_the_lock(client, db_dsn):
    first = await _add_payment(client)
    second = await _add_payment(client, amount=1600)
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE procrastinate_jobs SET lock = 'venue-payouts',"
            " status = CASE WHEN id = %s THEN 'doing' ELSE status END::procrastinate_job_status"
            " WHERE id IN (%s, %s)",
            (first, first, second),
        )

    body = (await client.get(f"{JOBS}/{second}/explain", headers=OWNER)).json()

    held = body["reasons"][0]
    assert held["reason"] == "lock_held"
    assert held["blockingJobId"] == first
    assert (
        held["detail"]
        == f"serial lock 'venue-payouts' is held by job {first}, which is running"
    )
    first_body = (await client.get(f"{JOBS}/{first}/explain", headers=OWNER)).json()
    assert first_body["state"] == "active"
    assert [r["reason"] for r in first_body["reasons"]] == ["stalled"]


async def test_explain_follows_the_access_rules_of_get_job(client):
    job_id = await _add_payment(client)
    path = f"{JOBS}/{job_id}/explain"
    expected = {
        "owner": (OWNER, 200),
        "another user": (auth("user", sub="someone-else"), 404),
        "admin": (auth("admin"), 200),
        "venue admin of its venue": (auth("venue_admin", venues=(VENUE,)), 200),
        "venue admin of another venue": (
            auth("venue_admin", venues=(OTHER_VENUE,)),
            404,
        ),
        "monitoring": (auth("monitoring"), 403),
        "no token": ({}, 401),
    }
    for who, (headers, status) in expected.items():
        response = await client.get(path, headers=headers)
        assert response.status_code == status, (who, response.text)
        if status >= 400:
            assert response.headers["content-type"].startswith(
                "application/problem+json"
            )
    hidden = (await client.get(path, headers=auth("user", sub="someone-else"))).json()
    assert hidden["type"] == "/problems/job-not-found"
    assert hidden["detail"] == f"job {job_id} does not exist"


async def test_explain_unknown_job_is_404(client):
    response = await client.get(f"{JOBS}/999999/explain", headers=auth("admin"))
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/job-not-found"
