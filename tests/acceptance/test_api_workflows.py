"""Dependencies, batches, unique modes and concurrency keys over HTTP."""

import psycopg

from tests.helpers.api import auth

API = "/api/v1/queue"
VENUE = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"


def payment(amount: int) -> dict[str, object]:
    return {
        "venueId": VENUE,
        "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
        "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
        "amount": amount,
        "currency": "USD",
        "paymentMethodId": "pm_card_visa",
    }


def member(amount: int, **options: object) -> dict[str, object]:
    return {
        "queue": "money",
        "type": "payment-process",
        "data": payment(amount),
        **({"options": options} if options else {}),
    }


async def add(client, amount, who, **options):
    return await client.post(
        f"{API}/jobs",
        json={
            "queue": "money",
            "type": "payment-process",
            "data": payment(amount),
            "options": options,
        },
        headers=who,
    )


def count_jobs(db_dsn: str) -> int:
    with psycopg.connect(db_dsn) as conn:
        return conn.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()[0]


async def test_a_job_waits_for_a_job_it_names_and_says_why(client):
    ann = auth("user", sub="ann")
    first = (await add(client, 100, ann)).json()["jobId"]
    created = await add(client, 101, ann, dependsOn=[{"jobId": first}])
    assert created.status_code == 201, created.text
    job_id = created.json()["jobId"]
    shown = (await client.get(f"{API}/jobs/{job_id}", headers=ann)).json()
    assert (shown["state"], shown["waitingFor"], shown["scheduledFor"]) == (
        "waiting-children",
        1,
        None,
    )
    explained = (await client.get(f"{API}/jobs/{job_id}/explain", headers=ann)).json()
    assert "reasons" in explained, explained
    assert explained["reasons"][0]["reason"] == "dependencies"
    assert explained["reasons"][0]["blockingJobId"] == first
    listed = await client.get(
        f"{API}/queues/money/jobs?status=waiting-children", headers=auth("admin")
    )
    assert [job["id"] for job in listed.json()["jobs"]] == [job_id]


async def test_a_caller_cannot_wait_for_another_callers_job(client, db_dsn):
    theirs = (await add(client, 100, auth("user", sub="bob"))).json()["jobId"]
    before = count_jobs(db_dsn)
    refused = await add(
        client, 101, auth("user", sub="ann"), dependsOn=[{"jobId": theirs}]
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["type"].endswith("/problems/invalid-dependency")
    # Said as for a job that does not exist: its existence is not revealed.
    assert problem["detail"] == f"depends_on job {theirs} does not exist"
    assert count_jobs(db_dsn) == before


async def test_a_dependency_by_index_needs_one_all_or_nothing_call(client, db_dsn):
    ann = auth("user", sub="ann")
    single = await add(client, 100, ann, dependsOn=[{"index": 0}])
    assert single.status_code == 422
    assert "by index" in single.json()["detail"]
    jobs = [
        {"type": "payment-process", "data": payment(200)},
        {
            "type": "payment-process",
            "data": payment(201),
            "options": {"dependsOn": [{"index": 0}]},
        },
    ]
    partial = await client.post(
        f"{API}/jobs/batch", json={"queue": "money", "jobs": jobs}, headers=ann
    )
    assert partial.json()["errors"][0]["index"] == 1
    whole = await client.post(
        f"{API}/jobs/batch",
        json={"queue": "money", "jobs": jobs, "options": {"stopOnError": True}},
        headers=auth("user", sub="cy"),
    )
    assert whole.status_code == 201, whole.text
    second = whole.json()["jobs"][1]["jobId"]
    shown = (
        await client.get(f"{API}/jobs/{second}", headers=auth("user", sub="cy"))
    ).json()
    assert shown["state"] == "waiting-children"


async def test_a_dependency_names_exactly_one_job(client):
    refused = await add(
        client, 100, auth("user", sub="ann"), dependsOn=[{"jobId": 1, "index": 0}]
    )
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/problems/validation-error")


async def test_a_batch_is_created_with_callbacks_and_reports_its_progress(
    client, db_dsn
):
    ann = auth("user", sub="ann")
    created = await client.post(
        f"{API}/batches",
        json={
            "jobs": [member(300), member(301), member(302, dependsOn=[{"index": 0}])],
            "onComplete": member(399),
            "onFailure": member(398),
        },
        headers=ann,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    batch = body["batchId"]
    assert [job["status"] for job in body["jobs"]] == ["queued"] * 3
    shown = await client.get(f"{API}/batches/{batch}", headers=ann)
    assert shown.status_code == 200
    progress = shown.json()
    assert {k: progress[k] for k in ("state", "total", "pending", "percent")} == {
        "state": "running",
        "total": 3,
        "pending": 3,
        "percent": 0,
    }
    callback = (
        await client.get(f"{API}/jobs/{progress['onCompleteJobId']}", headers=ann)
    ).json()
    assert callback["state"] == "waiting-children"
    # Another caller does not learn that the batch exists; an admin reads it.
    other = await client.get(f"{API}/batches/{batch}", headers=auth("user", sub="bob"))
    assert other.status_code == 404
    assert other.json()["type"].endswith("/problems/batch-not-found")
    assert (
        await client.get(f"{API}/batches/{batch}", headers=auth("admin"))
    ).status_code == 200
    with psycopg.connect(db_dsn) as conn:
        owner = conn.execute(
            "SELECT owner FROM queue.batches WHERE id = %s", (batch,)
        ).fetchone()
    assert owner == ({"user_id": "ann", "venue_id": VENUE},)


async def test_a_bad_batch_enqueues_nothing(client, db_dsn):
    ann = auth("user", sub="ann")
    forward = await client.post(
        f"{API}/batches",
        json={"jobs": [member(300, dependsOn=[{"index": 1}]), member(301)]},
        headers=ann,
    )
    assert forward.status_code == 422
    assert forward.json()["detail"].startswith("jobs[0]: depends_on must be an array")
    bad_callback = await client.post(
        f"{API}/batches",
        json={
            "jobs": [member(300)],
            "onComplete": {**member(399), "data": {"amount": -1}},
        },
        headers=ann,
    )
    assert bad_callback.status_code == 422
    assert bad_callback.json()["detail"].startswith("onComplete: ")
    assert next(e["pointer"] for e in bad_callback.json()["errors"]).startswith(
        "/onComplete/data/"
    )
    too_many = await client.post(
        f"{API}/batches", json={"jobs": [member(n) for n in range(1001)]}, headers=ann
    )
    assert too_many.status_code == 422
    assert count_jobs(db_dsn) == 0


async def test_replace_over_http_debounces_a_waiting_job(client, db_dsn):
    ann = {**auth("user", sub="ann"), "Idempotency-Key": "summary-42"}
    first = await add(
        client, 100, ann, onDuplicate="replace", uniqueWhile="waiting", delay=60_000
    )
    again = await add(
        client, 250, ann, onDuplicate="replace", uniqueWhile="waiting", delay=60_000
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["jobId"] == again.json()["jobId"]
    with psycopg.connect(db_dsn) as conn:
        amounts = conn.execute(
            "SELECT args -> 'data' -> 'amount' FROM procrastinate_jobs"
        ).fetchall()
    assert amounts == [(250,)]


async def test_a_concurrency_key_is_kept_and_shown(client):
    ann = auth("user", sub="ann")
    created = await add(client, 100, ann, concurrencyKey=f"venue:{VENUE}")
    shown = (
        await client.get(f"{API}/jobs/{created.json()['jobId']}", headers=ann)
    ).json()
    assert shown["concurrencyKey"] == f"venue:{VENUE}"


async def test_a_queues_key_concurrency_is_set_and_lifted_over_http(client, db_dsn):
    admin = auth("admin")
    config = f"{API}/queues/money/config"
    set_ = await client.patch(config, json={"keyConcurrency": 2}, headers=admin)
    assert set_.status_code == 200, set_.text
    assert set_.json()["keyConcurrency"] == 2
    with psycopg.connect(db_dsn) as conn:
        stored = conn.execute(
            "SELECT key_concurrency FROM queue.queues WHERE name = 'money'"
        ).fetchone()
    assert stored == (2,)
    untouched = await client.patch(config, json={"concurrency": 3}, headers=admin)
    assert untouched.json()["keyConcurrency"] == 2
    lifted = await client.patch(config, json={"keyConcurrency": 0}, headers=admin)
    assert lifted.json()["keyConcurrency"] is None
    refused = await client.patch(config, json={"keyConcurrency": -1}, headers=admin)
    assert refused.status_code == 422


async def test_a_batch_sent_again_under_its_idempotency_key_is_the_first(
    client, db_dsn
):
    ann = {**auth("user", sub="ann"), "Idempotency-Key": "on-sale-7"}
    body = {"jobs": [member(300), member(301)], "onComplete": member(399)}
    first = await client.post(f"{API}/batches", json=body, headers=ann)
    again = await client.post(f"{API}/batches", json=body, headers=ann)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["batchId"] == first.json()["batchId"]
    assert [job["status"] for job in again.json()["jobs"]] == ["duplicate", "duplicate"]
    other = await client.post(
        f"{API}/batches", json={"jobs": [member(302)]}, headers=ann
    )
    assert other.status_code == 409
    assert other.json()["type"].endswith("/problems/idempotency-key-reused")
    # Another caller's same key is another key.
    bob = {**auth("user", sub="bob"), "Idempotency-Key": "on-sale-7"}
    assert (
        await client.post(f"{API}/batches", json=body, headers=bob)
    ).status_code == 201
    with psycopg.connect(db_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM queue.batches").fetchone() == (2,)


async def test_a_venue_admin_reads_its_batch_across_its_venues(client):
    other_venue = "7c2e0b5f-9b66-4b68-8d2f-3e909f2f1b02"
    admin = auth("venue_admin", sub="va-1", venues=(VENUE, other_venue))
    created = await client.post(
        f"{API}/batches",
        json={
            "jobs": [
                member(300),
                {**member(301), "data": {**payment(301), "venueId": other_venue}},
            ]
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    batch = created.json()["batchId"]
    assert (
        await client.get(f"{API}/batches/{batch}", headers=admin)
    ).status_code == 200
    stranger = auth("venue_admin", sub="va-2", venues=(VENUE,))
    assert (
        await client.get(f"{API}/batches/{batch}", headers=stranger)
    ).status_code == 404
