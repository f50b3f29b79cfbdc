"""One verdict on a payload, whoever enqueues it: SQL, HTTP or Python.

Each example goes through `queue.enqueue` (a SQL producer), `POST /jobs` (an
HTTP caller) and `validate_payload` (what the Python enqueue and the worker
run); all three must take it, or all three refuse it.
"""

import itertools

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.domain.errors import PayloadInvalid
from app.domain.job_types import CATALOGUE, validate_payload
from tests.helpers.api import api_client, auth

U1 = "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02"
U2 = "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03"
U3 = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"
PAY = {
    "venueId": U3,
    "userId": U1,
    "eventId": U2,
    "amount": 1500,
    "currency": "USD",
    "paymentMethodId": "pm_card_visa",
}
MINT = {"eventId": U2, "userId": U1, "walletAddress": "w-1"}
STRIPE_EVENT = {
    "id": "evt_1",
    "type": "payment_intent.succeeded",
    "created": 1_700_000_000,
    "livemode": False,
    "object": {"object": "payment_intent", "id": "pi_1"},
}
HOOK = {
    "url": "https://hooks.example.com/x",
    "eventId": "evt-1",
    "event": "e",
    "payload": {},
}

# (job type, data, taken?)
EXAMPLES = [
    ("payment-process", PAY, True),
    ("payment-process", {**PAY, "currency": "usd"}, True),
    ("payment-process", {**PAY, "extra": {"kept": True}}, True),
    ("payment-process", {**PAY, "userId": U1.upper()}, True),
    ("payment-process", {k: v for k, v in PAY.items() if k != "amount"}, False),
    ("payment-process", {**PAY, "amount": "1500"}, False),
    ("payment-process", {**PAY, "amount": 1500.5}, False),
    ("payment-process", {**PAY, "amount": 0}, False),
    ("payment-process", {**PAY, "amount": 1_000_001}, False),
    ("payment-process", {**PAY, "amount": True}, False),
    ("payment-process", {**PAY, "currency": "XYZ"}, False),
    ("payment-process", {**PAY, "userId": "{" + U1 + "}"}, False),
    ("payment-process", {**PAY, "userId": U1.replace("-", "")}, False),
    ("payment-process", {**PAY, "userId": "urn:uuid:" + U1}, False),
    ("payment-process", {**PAY, "userId": None}, False),
    ("payment-process", {**PAY, "paymentMethodId": ""}, False),
    ("payment-process", {**PAY, "description": "d" * 1001}, False),
    ("payment-process", {**PAY, "callbackUrl": "https://cb.example/done"}, True),
    ("payment-process", {**PAY, "callbackUrl": "ftp://cb.example/done"}, False),
    ("payment-process", {**PAY, "callbackUrl": "http://999.1.1.1/"}, False),
    ("payment-process", {**PAY, "callbackUrl": "http://a.example:99999/"}, False),
    ("payment-process", {**PAY, "callbackUrl": None}, True),
    ("refund-process", {"transactionId": "pi_1"}, True),
    ("refund-process", {"transactionId": "pi_1", "reason": "duplicate"}, True),
    ("refund-process", {"transactionId": "pi_1", "reason": "because"}, False),
    ("refund-process", {"transactionId": 42}, False),
    ("nft-mint", {**MINT, "seatId": "A-1"}, True),
    ("nft-mint", {**MINT, "ticketId": U3}, True),
    ("nft-mint", MINT, False),
    ("nft-mint", {**MINT, "seatId": None, "ticketId": None}, False),
    ("nft-mint", {**MINT, "seatId": "A-1", "metadata": []}, False),
    ("send-email", {"to": "a@example.com", "template": "welcome"}, True),
    ("send-email", {"to": "a@example.com", "subject": "Hi", "content": "Hello"}, True),
    ("send-email", {"to": "a@example.com", "subject": "Hi"}, False),
    ("send-email", {"to": "a@example.com"}, False),
    ("send-email", {"to": "not-an-address", "template": "welcome"}, False),
    ("send-email", {"to": "a..b@example.com", "template": "welcome"}, False),
    ("send-email", {"to": "a@example", "template": "welcome"}, False),
    ("send-sms", {"to": "+15555550100", "message": "Hi"}, True),
    ("send-sms", {"to": "5555550100", "message": "Hi"}, False),
    ("send-sms", {"to": "+15555550100", "message": "m" * 1601}, False),
    ("send-push", {"userId": U1, "title": "t", "body": "b"}, True),
    ("send-push", {"userId": U1, "title": "", "body": "b"}, False),
    ("webhook-deliver", HOOK, True),
    ("webhook-deliver", {**HOOK, "stream": "order-1"}, True),
    ("webhook-deliver", {**HOOK, "url": "not a url"}, False),
    ("webhook-deliver", {**HOOK, "eventId": "evt\n2"}, False),
    ("webhook-deliver", {**HOOK, "payload": "text"}, False),
    ("analytics-track", {"eventType": "seat_viewed"}, True),
    ("analytics-track", {"eventType": "x", "timestamp": "2026-12-01T10:00:00Z"}, True),
    (
        "analytics-track",
        {"eventType": "x", "timestamp": "2026-12-01T10:00:00.5+02:00"},
        True,
    ),
    ("analytics-track", {"eventType": "x", "timestamp": "2026-12-01"}, True),
    ("analytics-track", {"eventType": "x", "timestamp": "2024-02-30T00:00:00Z"}, False),
    ("analytics-track", {"eventType": "x", "timestamp": "1700000000"}, False),
    ("analytics-track", {"eventType": "x", "timestamp": 1700000000}, False),
    ("analytics-track", {"eventType": "x", "timestamp": "2026-12-01T10:00Z"}, False),
    (
        "analytics-track",
        {"eventType": "x", "properties": {"any": [1, {"deep": True}]}},
        True,
    ),
    ("analytics-track", {"eventType": "x", "properties": 7}, False),
    ("analytics-track", {}, False),
    ("cleanup-old-data", {}, True),
    ("cleanup-old-data", {"target": "outcomes", "olderThanDays": 30}, True),
    ("cleanup-old-data", {"olderThanDays": "30"}, False),
    ("cleanup-old-data", {"olderThanDays": 30.0}, False),
    ("cleanup-old-data", {"olderThanDays": 0}, False),
    ("cleanup-old-data", {"target": "everything"}, False),
    ("generate-report", {"reportType": "jobs", "queue": "money"}, True),
    ("generate-report", {"reportType": "jobs", "queue": "../../etc"}, False),
    (
        "generate-report",
        {"reportType": "jobs", "periodStart": "2026-11-01T00:00:00Z"},
        True,
    ),
    ("generate-report", {"reportType": "weekly"}, False),
    ("stripe-event", STRIPE_EVENT, True),
    # The event's object is a model of its own: its fields are checked inside it.
    ("stripe-event", {**STRIPE_EVENT, "object": {"object": "charge", "x": [1]}}, True),
    ("stripe-event", {**STRIPE_EVENT, "object": {"id": "pi_1"}}, False),
    ("stripe-event", {**STRIPE_EVENT, "object": {"object": "Payment Intent"}}, False),
    ("stripe-event", {**STRIPE_EVENT, "object": {"object": "charge", "id": ""}}, False),
    (
        "stripe-event",
        {**STRIPE_EVENT, "object": {"object": "charge", "created": -1}},
        False,
    ),
    (
        "stripe-event",
        {**STRIPE_EVENT, "object": {"object": "charge", "created": "5"}},
        False,
    ),
    ("stripe-event", {**STRIPE_EVENT, "object": "pi_1"}, False),
    ("stripe-event", {**STRIPE_EVENT, "object": None}, False),
    ("stripe-event", {k: v for k, v in STRIPE_EVENT.items() if k != "object"}, False),
    ("deliver-alert", {"alertId": 1, "channel": "sms"}, True),
    ("deliver-alert", {"alertId": "1", "channel": "sms"}, False),
    ("deliver-alert", {"alertId": 1, "channel": "pager"}, False),
]


def python_takes(job_type: str, data: object) -> bool:
    try:
        validate_payload(job_type, data)  # type: ignore[arg-type]
    except PayloadInvalid:
        return False
    return True


def sql_takes(conn: psycopg.Connection, job_type: str, data: object) -> bool:
    queue = CATALOGUE[job_type].queue
    try:
        with conn.transaction():
            conn.execute(
                "SELECT * FROM queue.enqueue(%s, %s, %s)",
                (queue, job_type, Jsonb(data)),
            )
    except psycopg.Error as exc:
        # QS004: a field breaks the model; QS006: a field the key is made of
        # is missing (checked first, and named too).
        assert exc.sqlstate in ("QS004", "QS006"), exc
        return False
    return True


@pytest.mark.parametrize(
    ("job_type", "data", "taken"),
    EXAMPLES,
    ids=[
        f"{t}-{n}"
        for t, group in itertools.groupby(e[0] for e in EXAMPLES)
        for n, _ in enumerate(group)
    ],
)
def test_sql_and_python_give_the_same_verdict(db_dsn, job_type, data, taken):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        assert (python_takes(job_type, data), sql_takes(conn, job_type, data)) == (
            taken,
            taken,
        )


async def test_http_gives_the_same_verdict_on_every_example(db_dsn):
    verdicts = []
    async with api_client(db_dsn, rate_limit_per_minute=0) as client:
        for n, (job_type, data, taken) in enumerate(EXAMPLES):
            if not CATALOGUE[job_type].enqueue_roles:
                continue  # the service's own types: no HTTP caller may enqueue them
            answer = await client.post(
                "/api/v1/queue/jobs",
                json={
                    "queue": CATALOGUE[job_type].queue,
                    "type": job_type,
                    "data": data,
                },
                headers={**auth("admin", sub=f"producer-{n}")},
            )
            assert answer.status_code in (200, 201, 422), answer.text
            verdicts.append((n, job_type, answer.status_code != 422, taken))
    assert [v for v in verdicts if v[2] != v[3]] == []
    assert len(verdicts) > 50
