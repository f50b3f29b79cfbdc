"""/api/v1/queue/jobs over HTTP against the real database."""

import psycopg

from app.services.enqueue import enqueue
from tests.helpers.api import NEW_OPTIONS, auth

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
        "options": {"priority": 9, "delay": None, "attempts": 4, **NEW_OPTIONS},
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


async def test_idempotency_key_header_replays_and_refuses_a_different_body(
    client, db_dsn
):
    body = {
        "queue": "money",
        "type": "refund-process",
        "data": {"transactionId": "pi_1"},
    }
    headers = {**auth("admin"), "Idempotency-Key": "refund-once"}
    first = await client.post(JOBS, json=body, headers=headers)
    again = await client.post(JOBS, json=body, headers=headers)
    other = await client.post(
        JOBS, json={**body, "data": {"transactionId": "pi_2"}}, headers=headers
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert (
        again.json()["jobId"] == first.json()["jobId"]
        and again.json()["status"] == "duplicate"
    )
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert other.json()["job_id"] == first.json()["jobId"]
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            1,
        )


async def test_template_keys_behave_like_the_header(client):
    body = {"queue": "money", "type": "payment-process", "data": PAYMENT}
    first = await client.post(JOBS, json=body, headers=auth("admin"))
    again = await client.post(JOBS, json=body, headers=auth("admin"))
    other = await client.post(
        JOBS,
        json={**body, "data": {**PAYMENT, "paymentMethodId": "pm_other"}},
        headers=auth("admin"),
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)


async def test_another_callers_idempotency_key_neither_finds_nor_blocks_their_job(
    client,
):
    body = {
        "queue": "money",
        "type": "refund-process",
        "data": {"transactionId": "pi_1"},
    }
    owner = {**auth("admin", sub="billing"), "Idempotency-Key": "refund-pi_1"}
    squatter = {**auth("admin", sub="intruder"), "Idempotency-Key": "refund-pi_1"}

    squatted = await client.post(
        JOBS, json={**body, "data": {"transactionId": "pi_9"}}, headers=squatter
    )
    first = await client.post(JOBS, json=body, headers=owner)
    same_body = await client.post(JOBS, json=body, headers=squatter)
    again = await client.post(JOBS, json=body, headers=owner)

    assert (squatted.status_code, first.status_code) == (201, 201)
    # The squatter's key is its own: the owner's request was not blocked, and
    # the squatter learns nothing of the owner's job even with the same body.
    assert same_body.status_code == 409
    assert same_body.json()["job_id"] == squatted.json()["jobId"]
    assert (again.status_code, again.json()["jobId"]) == (200, first.json()["jobId"])
    assert first.json()["jobId"] != squatted.json()["jobId"]


async def test_a_squatted_template_key_cannot_make_the_real_payment_fail(client):
    real = {"queue": "money", "type": "payment-process", "data": PAYMENT}
    squat = {**real, "data": {**PAYMENT, "paymentMethodId": "pm_attacker"}}
    payer = auth("user", sub=PAYMENT["userId"])

    squatted = await client.post(JOBS, json=squat, headers=auth("user", sub="mallory"))
    paid = await client.post(JOBS, json=real, headers=payer)
    replayed = await client.post(JOBS, json=real, headers=payer)

    assert (squatted.status_code, paid.status_code, replayed.status_code) == (
        201,
        201,
        200,
    )
    assert replayed.json()["jobId"] == paid.json()["jobId"]


async def test_body_errors_are_422_with_pointers(client):
    response = await client.post(
        JOBS,
        json={
            "queue": "money",
            "type": "refund-process",
            "data": {"transactionId": "x"},
            "options": {"priority": 11},
        },
        headers=auth("admin"),
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert [e["pointer"] for e in problem["errors"]] == ["/options/priority"]
    unknown = await client.post(
        JOBS,
        json={"queue": "nope", "type": "refund-process", "data": {}},
        headers=auth("admin"),
    )
    assert unknown.status_code == 422  # refund-process data is checked first
    missing = await client.post(
        JOBS,
        json={"queue": "nope", "type": "cleanup-old-data", "data": {}},
        headers=auth("admin"),
    )
    assert (
        missing.status_code == 404
        and missing.json()["type"] == "/problems/unknown-queue"
    )
    assert 'unknown queue "nope"' in missing.json()["detail"]


async def test_data_is_stored_as_given_and_sql_is_parameterized(client, db_dsn):
    tricky = {
        "eventType": "x'); DROP TABLE queue.queues; --",
        "properties": {"<script>": "select * from"},
    }
    response = await client.post(
        JOBS,
        json={"queue": "background", "type": "analytics-track", "data": tricky},
        headers=auth("admin"),
    )
    assert response.status_code == 201
    shown = await client.get(
        f"{JOBS}/{response.json()['jobId']}", headers=auth("admin")
    )
    assert shown.json()["data"] == tricky
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM queue.queues").fetchone()[0] >= 3


async def test_request_id_is_generated_when_absent_or_unsafe(client):
    plain = await client.get("/health/live")
    unsafe = await client.get(
        "/health/live", headers={"X-Request-ID": "bad id\nwith newline"}
    )
    assert len(plain.headers["X-Request-ID"]) == 36
    assert unsafe.headers["X-Request-ID"] != "bad id\nwith newline"


async def test_batch_without_stop_on_error_enqueues_the_valid_jobs(client):
    response = await client.post(
        f"{JOBS}/batch",
        json={
            "queue": "background",
            "jobs": [
                {"type": "analytics-track", "data": {"eventType": "a"}},
                {"type": "analytics-track", "data": {}},
                {"type": "send-email", "data": {"to": "a@b.co", "template": "t"}},
                {"type": "generate-report", "data": {"reportType": "jobs"}},
            ],
        },
        headers=auth("admin"),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["total"], body["successful"], body["failed"]) == (4, 2, 2)
    assert [job["index"] for job in body["jobs"]] == [0, 3]
    assert [(e["index"], e["type"]) for e in body["errors"]] == [
        (1, "analytics-track"),
        (2, "send-email"),
    ]
    assert body["errors"][0]["errors"][0]["pointer"] == "/jobs/1/data/eventType"
    assert "belongs to queue" in body["errors"][1]["error"]


async def test_batch_with_stop_on_error_is_all_or_nothing(client, db_dsn):
    jobs = [
        {"type": "analytics-track", "data": {"eventType": "a"}},
        {"type": "analytics-track", "data": {}},
        {"type": "analytics-track", "data": {"userId": "nope"}},
    ]
    first_only = await client.post(
        f"{JOBS}/batch",
        json={"queue": "background", "jobs": jobs, "options": {"stopOnError": True}},
        headers=auth("admin"),
    )
    every = await client.post(
        f"{JOBS}/batch",
        headers=auth("admin"),
        json={
            "queue": "background",
            "jobs": jobs,
            "options": {"stopOnError": True, "validateAll": True},
        },
    )
    in_sql = await client.post(
        f"{JOBS}/batch",
        headers=auth("admin"),
        json={
            "queue": "background",
            "jobs": [
                jobs[0],
                {"type": "send-email", "data": {"to": "a@b.co", "template": "t"}},
            ],
            "options": {"stopOnError": True},
        },
    )
    assert first_only.status_code == every.status_code == in_sql.status_code == 422
    assert [e["index"] for e in first_only.json()["errors"]] == [1]
    assert [e["index"] for e in every.json()["errors"]] == [1, 2]
    assert "jobs[1]" in in_sql.json()["detail"]
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            0,
        )
    too_many = await client.post(
        f"{JOBS}/batch",
        headers=auth("admin"),
        json={"queue": "background", "jobs": [jobs[0]] * 101},
    )
    assert (
        too_many.status_code == 422
        and too_many.json()["errors"][0]["pointer"] == "/jobs"
    )


async def test_retry_and_cancel_change_the_job_and_are_audited(client, db_dsn):
    created = await client.post(
        JOBS,
        json={
            "queue": "background",
            "type": "analytics-track",
            "data": {"eventType": "x"},
        },
        headers={**auth("admin", sub="ops-1"), "X-Request-ID": "req-ops"},
    )
    job_id = created.json()["jobId"]
    refused = await client.post(f"{JOBS}/{job_id}/retry", headers=auth("admin"))
    assert (
        refused.status_code == 409
        and refused.json()["type"] == "/problems/invalid-job-transition"
    )
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'failed', attempts = 2 WHERE id = %s",
            (job_id,),
        )
    retried = await client.post(
        f"{JOBS}/{job_id}/retry",
        headers={**auth("admin", sub="ops-1"), "X-Request-ID": "req-ops"},
    )
    assert retried.json() == {
        "jobId": job_id,
        "status": "queued",
        "message": "Job has been queued for retry",
    }
    cancelled = await client.delete(
        f"{JOBS}/{job_id}", headers=auth("admin", sub="ops-1")
    )
    assert cancelled.json() == {
        "jobId": job_id,
        "status": "cancelled",
        "message": "Job has been cancelled",
    }
    shown = (await client.get(f"{JOBS}/{job_id}", headers=auth("admin"))).json()
    assert (shown["state"], shown["attempts"], shown["progress"]) == (
        "cancelled",
        0,
        100,
    )
    outcomes = (
        await client.get(f"{JOBS}/{job_id}/outcomes", headers=auth("admin"))
    ).json()
    assert [(o["attempt"], o["status"]) for o in outcomes] == [(1, "cancelled")]
    with psycopg.connect(db_dsn) as conn:
        audit = conn.execute(
            "SELECT actor, role, action, target, request_id, ip IS NOT NULL FROM queue.audit_log ORDER BY id"
        ).fetchall()
    assert audit[0] == ("ops-1", "admin", "job.retry", f"job:{job_id}", "req-ops", True)
    assert audit[1][2:4] == ("job.cancel", f"job:{job_id}")


async def test_venue_admin_adds_jobs_only_for_their_venues(client):
    other = {**PAYMENT, "venueId": "11111111-1111-4111-8111-111111111111"}
    headers = auth("venue_admin", sub="va", venues=(VENUE,))
    mine = await client.post(
        JOBS,
        json={"queue": "money", "type": "payment-process", "data": PAYMENT},
        headers=headers,
    )
    theirs = await client.post(
        JOBS,
        json={"queue": "money", "type": "payment-process", "data": other},
        headers=headers,
    )
    assert mine.status_code == 201 and theirs.status_code == 403
    assert theirs.json()["type"] == "/problems/forbidden"


async def test_bodies_take_camel_case_keys_only(client, db_dsn):
    snake = await client.post(
        JOBS,
        json={"queue": "background", "job_type": "cleanup-old-data", "data": {}},
        headers=auth("admin"),
    )
    assert snake.status_code == 422, snake.text
    assert sorted(e["pointer"] for e in snake.json()["errors"]) == [
        "/job_type",
        "/type",
    ]
    batch = await client.post(
        f"{JOBS}/batch",
        json={
            "queue": "background",
            "jobs": [{"type": "cleanup-old-data", "data": {}}],
            "options": {"stop_on_error": True},
        },
        headers=auth("admin"),
    )
    assert batch.status_code == 422, batch.text
    assert [e["pointer"] for e in batch.json()["errors"]] == ["/options/stop_on_error"]
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone() == (
            0,
        )


async def test_a_nul_byte_or_a_hostile_depth_in_data_is_a_422_naming_the_field(client):
    nul = await client.post(
        JOBS,
        json={
            "queue": "background",
            "type": "analytics-track",
            "data": {"eventType": "seat_viewed", "properties": {"note": "x\u0000"}},
        },
        headers=auth("user"),
    )
    assert nul.status_code == 422, nul.text
    assert nul.json()["errors"] == [
        {
            "detail": "contains a NUL character (U+0000)",
            "pointer": "/data/properties/note",
        }
    ]
    deep: dict = {}
    for _ in range(900):
        deep = {"a": deep}
    nested = await client.post(
        JOBS,
        json={
            "queue": "background",
            "type": "analytics-track",
            "data": {"eventType": "seat_viewed", "properties": deep},
        },
        headers=auth("user"),
    )
    assert 400 <= nested.status_code < 500, nested.text
    assert nested.headers["Content-Type"].startswith("application/problem+json")


async def test_an_ordering_key_from_http_and_python_becomes_the_jobs_serial_lock(
    client, db_dsn
):
    body = {
        "queue": "money",
        "type": "refund-process",
        "data": {"transactionId": "pi_1"},
        "options": {"orderingKey": "venue-7-refunds"},
    }
    created = await client.post(JOBS, json=body, headers=auth("admin"))
    assert created.status_code == 201, created.text
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as conn:
        python = await enqueue(
            conn,
            queue="money",
            job_type="refund-process",
            data={"transactionId": "pi_2"},
            ordering_key="venue-7-refunds",
        )
    with psycopg.connect(db_dsn) as conn:
        locks = conn.execute(
            "SELECT lock FROM procrastinate_jobs WHERE id = ANY(%s) ORDER BY id",
            ([created.json()["jobId"], python.job_id],),
        ).fetchall()
    assert locks == [("venue-7-refunds",), ("venue-7-refunds",)]
