"""POST /api/v1/queue/webhooks/stripe over HTTP against the real database.

Every event is signed as Stripe signs it (tests.helpers.stripe_events), and
every refusal is checked to have enqueued nothing.
"""

import json
import re
import time

import psycopg
import pytest

from app.api.app import create_app
from app.api.auth import OPEN_PATHS
from tests.helpers.api import api_client, auth
from tests.helpers.api import test_settings as settings_for
from tests.helpers.stripe_events import (
    PATH,
    WEBHOOK_SECRET,
    body_of,
    event,
    payment_intent,
    sign,
    signed,
    webhook_settings,
)


@pytest.fixture
async def stripe(db_dsn):
    async with api_client(db_dsn, providers=webhook_settings()) as client:
        yield client


def stripe_jobs(dsn):
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT id, queue_name, lock, args FROM procrastinate_jobs"
            " WHERE task_name = 'stripe-event' ORDER BY id"
        ).fetchall()


def assert_problem(response, status, type_):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert (problem["status"], problem["type"]) == (status, type_), problem
    assert problem["instance"] == PATH and problem["request_id"]
    return problem


async def test_a_signed_event_is_enqueued_as_a_stripe_event_job(stripe, db_dsn):
    intent = payment_intent(status="requires_payment_method")
    payment_failed = event("payment_intent.payment_failed", intent)
    body, headers = signed(payment_failed)

    # No Authorization header: the signature is the authentication.
    response = await stripe.post(
        PATH, content=body, headers={**headers, "X-Request-ID": "req-stripe-1"}
    )

    assert response.status_code == 200, response.text
    assert "X-RateLimit-Limit" not in response.headers
    answer = response.json()
    assert answer == {
        "eventId": payment_failed["id"],
        "jobId": answer["jobId"],
        "status": "queued",
    }
    [(job_id, queue, lock, args)] = stripe_jobs(db_dsn)
    assert (job_id, queue, lock) == (answer["jobId"], "money", f"stripe-{intent['id']}")
    assert args["meta"]["idempotency_key"] == f"stripe-event-{payment_failed['id']}"
    assert args["meta"]["request_id"] == "req-stripe-1"
    data = args["data"]
    assert {
        k: data[k] for k in ("id", "type", "created", "livemode", "apiVersion")
    } == {
        "id": payment_failed["id"],
        "type": "payment_intent.payment_failed",
        "created": payment_failed["created"],
        "livemode": False,
        "apiVersion": "2024-06-20",
    }
    assert data["objectId"] == intent["id"]
    assert data["object"] == {
        "id": intent["id"],
        "object": "payment_intent",
        "created": intent["created"],
        "livemode": False,
        "status": "requires_payment_method",
        "amount": 1500,
        "amount_received": 0,
        "currency": "usd",
        "latest_charge": None,
        "metadata": {"venueId": "v-1", "orderId": "order-42"},
        "last_payment_error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
        },
    }
    # The customer's details, the card and the client secret are not kept.
    stored = json.dumps(data)
    for personal in ("jenny", "Jenny", "Townsend", "4242", "secret", "+1415"):
        assert personal not in stored


async def test_stripe_redelivering_an_event_gets_the_same_job(stripe, db_dsn):
    refunded = event("charge.refunded", {"id": "ch_1", "object": "charge"})
    body = body_of(refunded)
    first = await stripe.post(
        PATH, content=body, headers={"Stripe-Signature": sign(body)}
    )
    # Stripe's next delivery attempt is signed anew; the event id is the same.
    again = await stripe.post(
        PATH,
        content=body,
        headers={"Stripe-Signature": sign(body, at=int(time.time()) - 30)},
    )
    # Re-serialized, as another delivery attempt may be: still one event.
    compact = json.dumps(refunded).encode()
    third = await stripe.post(
        PATH, content=compact, headers={"Stripe-Signature": sign(compact)}
    )

    assert [r.status_code for r in (first, again, third)] == [200, 200, 200]
    assert [r.json()["status"] for r in (first, again, third)] == [
        "queued",
        "duplicate",
        "duplicate",
    ]
    assert {r.json()["jobId"] for r in (first, again, third)} == {first.json()["jobId"]}
    assert len(stripe_jobs(db_dsn)) == 1


def _other_secret(body):
    return sign(body, "whsec_someone_else")


def _other_body(body):
    del body
    return sign(body_of(event("payout.paid", {"id": "po_1", "object": "payout"})))


def _replayed(body):
    # Captured ten minutes ago: past Stripe's five-minute tolerance.
    return sign(body, at=int(time.time()) - 600)


def _tampered(body):
    header = sign(body)
    return header[:-4] + ("0000" if not header.endswith("0000") else "1111")


@pytest.mark.parametrize(
    ("header", "says"),
    [
        (_other_secret, "No signatures found matching the expected signature"),
        (_other_body, "No signatures found matching the expected signature"),
        (_replayed, "Timestamp outside the tolerance zone"),
        (_tampered, "No signatures found matching the expected signature"),
        (lambda body: "garbage", "Unable to extract timestamp and signatures"),
        (lambda body: "t=now,v1=abc", "Unable to extract timestamp and signatures"),
        (
            lambda body: sign(body).replace("v1=", "v0="),
            "No signatures found with expected scheme v1",
        ),
    ],
    ids=[
        "other-secret",
        "other-body",
        "replayed",
        "tampered",
        "garbage",
        "bad-t",
        "v0",
    ],
)
async def test_a_signature_that_does_not_verify_enqueues_nothing(
    stripe, db_dsn, header, says
):
    body = body_of(event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    response = await stripe.post(
        PATH, content=body, headers={"Stripe-Signature": header(body)}
    )
    problem = assert_problem(response, 400, "/problems/stripe-signature-invalid")
    assert says in problem["detail"]
    assert WEBHOOK_SECRET not in response.text
    assert stripe_jobs(db_dsn) == []


async def test_an_event_without_a_signature_is_refused(stripe, db_dsn):
    body = body_of(event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    response = await stripe.post(PATH, content=body)
    problem = assert_problem(response, 400, "/problems/stripe-signature-invalid")
    assert "Stripe-Signature header is missing" in problem["detail"]
    assert stripe_jobs(db_dsn) == []


async def test_without_a_secret_no_event_is_taken(db_dsn):
    body = body_of(event("charge.refunded", {"id": "ch_1", "object": "charge"}))
    async with api_client(db_dsn, providers=webhook_settings(None)) as client:
        # Signed with a secret the service does not have, or with none.
        for header in (sign(body), sign(body, "")):
            response = await client.post(
                PATH, content=body, headers={"Stripe-Signature": header}
            )
            problem = assert_problem(
                response, 403, "/problems/stripe-events-not-configured"
            )
            assert "STRIPE_WEBHOOK_SECRET" in problem["detail"]
    assert stripe_jobs(db_dsn) == []


async def test_a_huge_body_is_refused(stripe, db_dsn):
    padding = "x" * (2 * 1024 * 1024)
    huge = event("payment_intent.succeeded", payment_intent(description=padding))
    body, headers = signed(huge)
    response = await stripe.post(PATH, content=body, headers=headers)
    assert_problem(response, 413, "about:blank")
    assert stripe_jobs(db_dsn) == []


def _event_without(*path):
    shaped = event("payment_intent.succeeded", payment_intent())
    target = shaped
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return shaped


@pytest.mark.parametrize(
    ("payload", "pointers"),
    [
        ([1, 2, 3], [""]),
        ("evt_1", [""]),
        (
            {"hello": "world"},
            ["/id", "/object", "/type", "/created", "/livemode", "/data"],
        ),
        (
            {**event("charge.refunded", {}), "object": "charge"},
            ["/object", "/data/object/object"],
        ),
        (
            {
                "id": "evt_thin",
                "object": "v2.core.event",
                "type": "v1.billing.meter.error_report_triggered",
                "related_object": {"id": "mtr_1"},
            },
            ["/object"],
        ),
        (_event_without("data", "object"), ["/data/object"]),
        (_event_without("data", "object", "object"), ["/data/object/object"]),
        ({**event("charge.refunded", {"object": "charge"}), "id": "ch_1"}, ["/id"]),
        (
            {**event("charge.refunded", {"object": "charge"}), "created": "1700000000"},
            ["/created"],
        ),
        (
            {**event("charge.refunded", {"object": "charge"}), "livemode": 0},
            ["/livemode"],
        ),
        (
            {**event("charge.refunded", {"object": "charge"}), "type": "refunded"},
            ["/type"],
        ),
        (
            event("charge.refunded", {"object": "charge", "id": "ch 1"}),
            ["/data/object/id"],
        ),
    ],
    ids=[
        "array",
        "string",
        "not-an-event",
        "wrong-object",
        "thin-event",
        "no-object",
        "object-without-type",
        "bad-id",
        "created-as-text",
        "livemode-as-number",
        "type-without-dot",
        "object-id-with-space",
    ],
)
async def test_a_signed_body_that_is_not_a_stripe_event_is_422(
    stripe, db_dsn, payload, pointers
):
    body, headers = signed(payload)
    response = await stripe.post(PATH, content=body, headers=headers)
    problem = assert_problem(response, 422, "/problems/invalid-stripe-event")
    assert [e["pointer"] for e in problem["errors"]] == pointers
    assert stripe_jobs(db_dsn) == []


async def test_a_signed_body_that_is_not_json_or_utf8_is_refused(stripe, db_dsn):
    text = b"event: charge.refunded"
    response = await stripe.post(
        PATH, content=text, headers={"Stripe-Signature": sign(text)}
    )
    problem = assert_problem(response, 422, "/problems/invalid-stripe-event")
    assert problem["errors"] == [{"detail": "not JSON", "pointer": ""}]

    latin1 = '{"id": "evt_é"}'.encode("latin-1")
    response = await stripe.post(
        PATH, content=latin1, headers={"Stripe-Signature": sign(latin1)}
    )
    assert_problem(response, 400, "/problems/stripe-signature-invalid")
    assert stripe_jobs(db_dsn) == []


async def test_stripe_is_not_held_to_a_callers_rate_limit(db_dsn):
    # Stripe's deliveries come from a few shared addresses: a per-caller
    # limit would turn its bursts into retries.
    async with api_client(
        db_dsn, rate_limit_per_minute=1, providers=webhook_settings()
    ) as client:
        for n in range(4):
            body, headers = signed(
                event("payout.paid", {"id": f"po_{n}", "object": "payout"})
            )
            response = await client.post(PATH, content=body, headers=headers)
            assert response.status_code == 200, response.text
        assert (
            await client.get("/api/v1/queue/queues", headers=auth("admin"))
        ).status_code == 200
        assert (
            await client.get("/api/v1/queue/queues", headers=auth("admin"))
        ).status_code == 429
    assert len(stripe_jobs(db_dsn)) == 4


def test_only_the_stripe_path_is_open_besides_probes_metrics_and_docs():
    app = create_app(settings_for("postgresql://unused@127.0.0.1/unused"))
    pattern = re.compile("|".join(OPEN_PATHS))
    open_api = sorted(
        route.path
        for route in app.routes
        if route.path.startswith("/api/") and pattern.search(route.path)
    )
    # Besides the old service's probes, at its paths.
    assert open_api == sorted(
        [PATH, "/api/v1/queue/health", "/api/v1/queue/health/ready"]
    )
    # Its neighbours and its own subpaths are not opened with it.
    for path in (PATH + "/x", PATH + "s", "/api/v1/queue/webhooks", "/x" + PATH):
        assert not pattern.search(path), path


async def test_no_token_may_enqueue_a_stripe_event_itself(stripe, db_dsn):
    data = {
        "id": "evt_forged",
        "type": "payment_intent.succeeded",
        "created": int(time.time()),
        "livemode": True,
        "objectId": "pi_1",
        "object": {"id": "pi_1", "object": "payment_intent", "status": "succeeded"},
    }
    for role in ("admin", "venue_admin", "user"):
        response = await stripe.post(
            "/api/v1/queue/jobs",
            json={"queue": "money", "type": "stripe-event", "data": data},
            headers=auth(role),
        )
        assert response.status_code == 403, response.text
        assert (
            "may not enqueue stripe-event (allowed: nobody" in response.json()["detail"]
        )
    assert stripe_jobs(db_dsn) == []
