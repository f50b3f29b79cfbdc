"""The old documentation's queue endpoints (API ENDPOINTS 6-11), as an old client calls them.

Each example response is copied from the old service's documentation; a
response must carry every field of the example with its JSON type. Job ids are
numbers here, as in tests/acceptance/test_old_contract_jobs.py says why.
"""

from tests.helpers.api import auth
from tests.helpers.old_contract import (
    API,
    USER,
    add_worker,
    assert_old_shape,
    claim,
    enqueue,
    finish,
    sql,
)

ADMIN = auth("admin", sub="ops")

# 6. List All Queues (the document shows three queues of this shape).
QUEUES_RESPONSE = [
    {
        "name": "money-queue",
        "waiting": 5,
        "active": 2,
        "completed": 1250,
        "failed": 3,
        "delayed": 1,
    }
]

# 7. Get Queue Status ("..." in the waiting samples elided).
STATUS_RESPONSE = {
    "name": "money-queue",
    "metrics": {
        "waiting": 5,
        "active": 2,
        "completed": 1250,
        "failed": 3,
        "delayed": 1,
    },
    "samples": {
        "waiting": [
            {
                "id": "12350",
                "type": "payment-process",
                "createdAt": "2025-01-15T10:05:00Z",
            }
        ],
        "active": [
            {
                "id": "12349",
                "type": "refund-process",
                "startedAt": "2025-01-15T10:04:50Z",
            }
        ],
        "failed": [
            {
                "id": "12340",
                "type": "payment-process",
                "failedAt": "2025-01-15T09:50:00Z",
                "reason": "Stripe API error: card_declined",
            }
        ],
    },
}

# 8. Pause Queue, 9. Resume Queue, 10. Clear Queue.
PAUSE_RESPONSE = {
    "queue": "money-queue",
    "status": "paused",
    "message": "Queue has been paused",
}
RESUME_RESPONSE = {
    "queue": "money-queue",
    "status": "active",
    "message": "Queue has been resumed",
}
CLEAR_RESPONSE = {
    "queue": "money-queue",
    "action": "cleared completed",
    "message": "Queue has been cleared",
}

# 11. Get Queue Jobs (Paginated).
QUEUE_JOBS_RESPONSE = {
    "queue": "money-queue",
    "status": "waiting",
    "count": 5,
    "jobs": [
        {
            "id": "12350",
            "type": "payment-process",
            "data": {},
            "attempts": 0,
            "progress": 0,
            "createdAt": "2025-01-15T10:05:00Z",
            "processedAt": None,
            "finishedAt": None,
            "failedReason": None,
        }
    ],
}

REFUND = {"transactionId": "pi_1", "amount": 500, "userId": USER}


def _refunds(dsn: str, n: int) -> list[int]:
    return [
        enqueue(dsn, "money", "refund-process", {**REFUND, "transactionId": f"pi_{i}"})
        for i in range(n)
    ]


async def test_list_queues_answers_the_old_shape(client, db_dsn):
    _refunds(db_dsn, 2)

    listed = await client.get(f"{API}/queues", headers=ADMIN)

    assert listed.status_code == 200, listed.text
    assert_old_shape(listed.json(), QUEUES_RESPONSE)
    money = next(q for q in listed.json() if q["name"] == "money")
    assert (money["waiting"], money["active"], money["delayed"]) == (2, 0, 0)


async def test_queue_status_answers_the_old_shape(client, db_dsn):
    failed, active = _refunds(db_dsn, 2)
    worker = add_worker(db_dsn, "money")
    assert sorted(claim(db_dsn, "money", worker)) == sorted([failed, active])
    finish(db_dsn, failed, worker, "failed", error=("CardError", "card_declined"))
    enqueue(db_dsn, "money", "refund-process", {**REFUND, "transactionId": "pi_w"})

    status = await client.get(f"{API}/queues/money-queue/status", headers=ADMIN)

    assert status.status_code == 200, status.text
    assert_old_shape(
        status.json(),
        STATUS_RESPONSE,
        kept={f"samples.{s}[].id": "number" for s in ("waiting", "active", "failed")},
    )
    samples = status.json()["samples"]
    assert samples["failed"][0]["reason"] == "card_declined"
    assert samples["failed"][0]["failedAt"] == samples["failed"][0]["finishedAt"]


async def test_pause_and_resume_answer_the_old_shape(client):
    paused = await client.post(f"{API}/queues/money-queue/pause", headers=ADMIN)
    resumed = await client.post(f"{API}/queues/money-queue/resume", headers=ADMIN)

    assert paused.status_code == resumed.status_code == 200
    assert_old_shape(paused.json(), PAUSE_RESPONSE)
    assert_old_shape(resumed.json(), RESUME_RESPONSE)
    assert (paused.json()["status"], resumed.json()["status"]) == ("paused", "active")


async def test_clear_answers_the_old_shape(client, db_dsn):
    _refunds(db_dsn, 1)

    cleared = await client.post(
        f"{API}/queues/money-queue/clear?type=completed", headers=ADMIN
    )

    assert cleared.status_code == 200, cleared.text
    assert_old_shape(cleared.json(), CLEAR_RESPONSE)
    assert cleared.json()["action"] == "cleared completed"


async def test_clear_without_a_type_empties_nothing(client, db_dsn):
    # The old service emptied the whole queue when no type was given, waiting
    # payments included; one missing query parameter must not do that, so
    # the type is required.
    _refunds(db_dsn, 1)

    refused = await client.post(f"{API}/queues/money/clear", headers=ADMIN)

    assert refused.status_code == 422, refused.text
    assert sql(db_dsn, "SELECT count(*) FROM procrastinate_jobs") == [(1,)]


async def test_queue_jobs_answers_the_old_shape(client, db_dsn):
    _refunds(db_dsn, 5)

    page = await client.get(
        f"{API}/queues/money-queue/jobs?status=waiting&start=0&end=20", headers=ADMIN
    )

    assert page.status_code == 200, page.text
    assert_old_shape(page.json(), QUEUE_JOBS_RESPONSE, kept={"jobs[].id": "number"})
    assert page.json()["count"] == len(page.json()["jobs"]) == 5
