"""The old documentation's job endpoints (API ENDPOINTS 1-5), as an old client calls them.

Each request body and example response is copied from the old service's
documentation; a response must carry every field of the example with its JSON
type (`tests.helpers.old_contract`). Ids are the one field kept otherwise:
the old service's were Bull's strings, ours are the job's number in PostgreSQL
(procrastinate's bigint), which our own clients already read; a JavaScript
client that only passes an id back in a URL works with either.
"""

from tests.helpers.api import NEW_OPTIONS, auth
from tests.helpers.old_contract import (
    API,
    EVENT,
    USER,
    VENUE,
    add_worker,
    assert_old_shape,
    claim,
    run_to,
)

ADMIN = auth("admin", sub="ops")

# 1. Add Job to Queue.
ADD_JOB = {
    "queue": "money",
    "type": "payment-process",
    "data": {
        "userId": USER,
        "venueId": VENUE,
        "eventId": EVENT,
        "amount": 10000,
        "paymentMethod": "pm_...",
    },
    "options": {"priority": 10, "delay": 0, "attempts": 10},
}
ADD_JOB_RESPONSE = {
    "jobId": "12345",
    "queue": "money",
    "type": "payment-process",
    "status": "queued",
    "options": {"priority": 10, "delay": 0, "attempts": 10},
}

# 2. Add Batch Jobs; the document elides the rest of each email ("..."), which
# its send-email contract gives: a template and its data.
BATCH = {
    "queue": "communication",
    "jobs": [
        {
            "type": "send-email",
            "data": {
                "to": "user1@example.com",
                "template": "order-confirmation",
                "data": {"orderId": "o-1"},
            },
            "options": {"priority": 5},
        },
        {
            "type": "send-email",
            "data": {
                "to": "user2@example.com",
                "template": "order-confirmation",
                "data": {"orderId": "o-2"},
            },
        },
    ],
    "options": {"stopOnError": False, "validateAll": True},
}
BATCH_RESPONSE = {
    "queue": "communication",
    "total": 2,
    "successful": 2,
    "failed": 0,
    "jobs": [
        {"index": 0, "jobId": "12346", "type": "send-email", "status": "queued"},
        {"index": 1, "jobId": "12347", "type": "send-email", "status": "queued"},
    ],
    "errors": [],
}

# 3. Get Job Status.
JOB_RESPONSE = {
    "id": "12345",
    "queue": "money-queue",
    "type": "payment-process",
    "data": {},
    "state": "completed",
    "progress": 100,
    "attempts": 1,
    "createdAt": "2025-01-15T10:00:00Z",
    "processedAt": "2025-01-15T10:00:02Z",
    "finishedAt": "2025-01-15T10:00:05Z",
}

# 4. Retry Failed Job.
RETRY = {"queue": "money"}
RETRY_RESPONSE = {
    "jobId": "12345",
    "status": "retrying",
    "message": "Job has been queued for retry",
}

# 5. Cancel Job.
CANCEL_RESPONSE = {
    "jobId": "12345",
    "status": "cancelled",
    "message": "Job has been cancelled",
}

ID = {"jobId": "number"}


async def _add_payment(client) -> int:
    created = await client.post(f"{API}/jobs", json=ADD_JOB, headers=ADMIN)
    assert created.status_code == 201, created.text
    return int(created.json()["jobId"])


async def test_add_job_takes_the_old_body_and_answers_the_old_shape(client):
    created = await client.post(f"{API}/jobs", json=ADD_JOB, headers=ADMIN)

    assert created.status_code == 201, created.text
    assert_old_shape(created.json(), ADD_JOB_RESPONSE, kept=ID)
    assert created.json()["options"] == {**ADD_JOB["options"], **NEW_OPTIONS}


async def test_add_batch_takes_the_old_body_and_answers_the_old_shape(client):
    created = await client.post(f"{API}/jobs/batch", json=BATCH, headers=ADMIN)

    assert created.status_code == 201, created.text
    assert_old_shape(created.json(), BATCH_RESPONSE, kept={"jobs[].jobId": "number"})
    assert created.json()["successful"] == 2


async def test_get_job_answers_the_old_shape_for_the_queue_named(client, db_dsn):
    job_id = await _add_payment(client)
    run_to(db_dsn, "money", "succeeded")

    shown = await client.get(f"{API}/jobs/{job_id}?queue=money", headers=ADMIN)

    assert shown.status_code == 200, shown.text
    assert_old_shape(shown.json(), JOB_RESPONSE, kept={"id": "number"})
    assert (shown.json()["state"], shown.json()["progress"]) == ("completed", 100)


async def test_get_job_in_another_queue_is_not_found_as_before(client):
    # The old service looked the job up in the queue named: another queue
    # has no such job.
    job_id = await _add_payment(client)

    elsewhere = await client.get(
        f"{API}/jobs/{job_id}?queue=communication", headers=ADMIN
    )
    by_alias = await client.get(f"{API}/jobs/{job_id}?queue=money-queue", headers=ADMIN)

    assert elsewhere.status_code == 404, elsewhere.text
    assert by_alias.status_code == 200, by_alias.text


async def test_retry_takes_the_old_body_and_answers_the_old_shape(client, db_dsn):
    job_id = await _add_payment(client)
    run_to(db_dsn, "money", "failed", error=("CardDeclined", "card_declined"))

    retried = await client.post(f"{API}/jobs/{job_id}/retry", json=RETRY, headers=ADMIN)

    assert retried.status_code == 200, retried.text
    assert_old_shape(retried.json(), RETRY_RESPONSE, kept=ID)
    # "queued", where the old service said "retrying": the job is waiting
    # again, and our own clients read this state name.
    assert retried.json()["status"] == "queued"


async def test_retry_without_a_body_still_retries(client, db_dsn):
    job_id = await _add_payment(client)
    run_to(db_dsn, "money", "failed", error=("CardDeclined", "card_declined"))

    retried = await client.post(f"{API}/jobs/{job_id}/retry", headers=ADMIN)

    assert retried.status_code == 200, retried.text


async def test_retry_naming_another_queue_is_not_found(client, db_dsn):
    job_id = await _add_payment(client)
    run_to(db_dsn, "money", "failed", error=("CardDeclined", "card_declined"))

    retried = await client.post(
        f"{API}/jobs/{job_id}/retry", json={"queue": "background"}, headers=ADMIN
    )

    assert retried.status_code == 404, retried.text


async def test_cancel_answers_the_old_shape(client):
    job_id = await _add_payment(client)

    cancelled = await client.delete(f"{API}/jobs/{job_id}?queue=money", headers=ADMIN)

    assert cancelled.status_code == 200, cancelled.text
    assert_old_shape(cancelled.json(), CANCEL_RESPONSE, kept=ID)


async def test_cancel_of_a_running_job_aborts_it(client, db_dsn):
    # The old service could not cancel a job being processed; this one asks
    # its worker to abort it, and says so ("aborting").
    job_id = await _add_payment(client)
    worker = add_worker(db_dsn, "money")
    assert claim(db_dsn, "money", worker) == [job_id]

    aborting = await client.delete(f"{API}/jobs/{job_id}?queue=money", headers=ADMIN)

    assert aborting.status_code == 200, aborting.text
    assert_old_shape(aborting.json(), CANCEL_RESPONSE, kept=ID)
    assert aborting.json()["status"] == "aborting"


async def test_retry_and_cancel_stay_for_admins_and_venue_admins(client):
    job_id = await _add_payment(client)

    as_user = await client.delete(f"{API}/jobs/{job_id}", headers=auth("user"))

    assert as_user.status_code == 403, as_user.text
