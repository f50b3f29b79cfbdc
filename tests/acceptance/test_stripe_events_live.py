"""Stripe's events through the API and a real worker process, against the fake Stripe.

A payment, a refund and their events go the way they would in production:
the worker pays and refunds on the fake Stripe, the test sends the events
Stripe would send about those very objects, signed as Stripe signs them, and
the payment's callback receiver gets them after the payment's own callback.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.api import api_client
from tests.helpers.stripe_events import (
    PATH,
    event,
    eventually,
    payment_intent,
    signed,
    webhook_settings,
)
from tests.helpers.workers import enqueue, provider_env, query, worker_process

PAYMENT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 4200,
    "currency": "usd",
    "paymentMethodId": "pm_card_visa",
}
DAY = 86400


def state(dsn, job_id):
    rows = query(
        dsn, "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job_id,)
    )
    return rows[0][0] if rows else None


def results(dsn, job_ids):
    rows = query(
        dsn,
        "SELECT job_id, result FROM queue.job_outcomes"
        " WHERE job_id = ANY(%s) AND status = 'succeeded'",
        (list(job_ids),),
    )
    found = dict(rows)
    return [found.get(job_id) for job_id in job_ids]


def deliveries(receiver, path):
    return [d for d in receiver.deliveries if d.path == path]


async def send(api, *events):
    job_ids = []
    for sent in events:
        body, headers = signed(sent)
        response = await api.post(PATH, content=body, headers=headers)
        assert response.status_code == 200, response.text
        job_ids.append(response.json()["jobId"])
    return job_ids


async def test_stripe_tells_a_payments_callback_what_happened_to_it(
    db_dsn, tmp_path, fake_stripe, fake_webhook_receiver
):
    env = provider_env(settings_for_fakes(stripe=fake_stripe))
    receiver = fake_webhook_receiver
    payment = enqueue(
        db_dsn,
        "money",
        "payment-process",
        {**PAYMENT, "callbackUrl": f"{receiver.url}/payments"},
    )
    async with api_client(db_dsn, providers=webhook_settings()) as api:
        with worker_process(db_dsn, tmp_path, **env):
            await eventually(
                lambda: deliveries(receiver, "/payments"),
                what="the payment's own callback",
            )
            [intent] = fake_stripe.intents.values()
            [charge] = fake_stripe.charges
            refund = enqueue(
                db_dsn, "money", "refund-process", {"transactionId": intent["id"]}
            )
            await eventually(
                lambda: state(db_dsn, refund) == "succeeded", what="the refund"
            )
            [refunded] = fake_stripe.refunds
            stripe_jobs = await send(
                api,
                event("payment_intent.succeeded", dict(intent)),
                event("charge.refunded", dict(charge)),
                event("charge.refund.updated", dict(refunded)),
                event(
                    "customer.created",
                    {"id": "cus_1", "object": "customer", "email": "j@example.com"},
                ),
                # Made in the dashboard a day ago: no job of ours made it.
                event(
                    "payout.paid",
                    {
                        "id": "po_dashboard",
                        "object": "payout",
                        "created": int(time.time()) - DAY,
                    },
                ),
            )
            await eventually(
                lambda: all(results(db_dsn, stripe_jobs)),
                what="every event to be processed",
            )
            await eventually(
                lambda: len(deliveries(receiver, "/payments")) == 3,
                what="the forwarded events",
            )

    sent = deliveries(receiver, "/payments")
    assert [d.json["event"] for d in sent] == [
        "job.completed",
        "stripe.payment_intent.succeeded",
        "stripe.charge.refunded",
    ]
    assert receiver.valid_signatures == [True] * len(receiver.deliveries)
    completed, succeeded, charge_refunded = (d.json["payload"] for d in sent)
    assert completed["jobId"] == payment
    assert succeeded["jobId"] == charge_refunded["jobId"] == payment
    assert succeeded["object"]["id"] == intent["id"]
    assert succeeded["object"]["status"] == "succeeded"
    assert (
        charge_refunded["object"]["refunded"],
        charge_refunded["object"]["amount_refunded"],
    ) == (True, 4200)
    assert [d.headers["x-webhook-id"] for d in sent[1:]] == [
        succeeded["stripeEventId"],
        charge_refunded["stripeEventId"],
    ]

    outcomes = results(db_dsn, stripe_jobs)
    assert [o["outcome"] for o in outcomes] == [
        "forwarded",
        "forwarded",
        "recorded",
        "unhandled",
        "unmatched",
    ]
    assert [o.get("jobId") for o in outcomes] == [payment, payment, refund, None, None]
    assert outcomes[2]["detail"] == f"refund-process job {refund} has no callback URL"
    assert "no handler for customer.created" in outcomes[3]["detail"]
    assert "no job of this service made po_dashboard" in outcomes[4]["detail"]
    # Nothing of the customer's went into a job.
    assert "j@example.com" not in str(
        query(
            db_dsn,
            "SELECT args FROM procrastinate_jobs WHERE id = %s",
            (stripe_jobs[3],),
        )
    )


@pytest.fixture
def quick_retries(db_dsn):
    # Retries every 0.3 s and enough of them: the test, not the backoff,
    # decides when the blocked event may go.
    query(
        db_dsn,
        "UPDATE queue.queues SET backoff = 'fixed', backoff_base_s = 0.3,"
        " backoff_factor = 1, backoff_cap_s = NULL, backoff_jitter = false,"
        " max_attempts = 100 WHERE name IN ('money', 'communication')",
    )
    return db_dsn


async def test_one_payments_events_run_in_order_and_others_do_not_wait(
    quick_retries, tmp_path, fake_webhook_receiver
):
    dsn = quick_retries
    receiver = fake_webhook_receiver
    env = provider_env(settings_for_fakes())
    # The payment job that made pi_ordered: it waits for its next attempt,
    # and its calls are not recorded yet when Stripe's events arrive.
    origin = enqueue(
        dsn,
        "money",
        "payment-process",
        {**PAYMENT, "callbackUrl": f"{receiver.url}/ordered"},
        run_at=datetime.now(UTC) + timedelta(days=1),
    )
    now = int(time.time())
    ordered = [
        event(
            "payment_intent.processing",
            payment_intent("pi_ordered", created=now, status="processing"),
        ),
        event(
            "charge.succeeded",
            {
                "id": "ch_ordered",
                "object": "charge",
                "payment_intent": "pi_ordered",
                "created": now,
                "status": "succeeded",
            },
        ),
        event(
            "payment_intent.succeeded",
            payment_intent("pi_ordered", created=now, status="succeeded"),
        ),
    ]
    others = [
        event("payment_intent.succeeded", payment_intent(created=now - DAY)),
        event(
            "payout.paid", {"id": "po_other", "object": "payout", "created": now - DAY}
        ),
        event("customer.created", {"id": "cus_other", "object": "customer"}),
    ]
    async with api_client(dsn, providers=webhook_settings()) as api:
        first, second, third = await send(api, *ordered)
        unrelated = await send(api, *others)

    with worker_process(dsn, tmp_path, **env):
        # Events of other objects go on while pi_ordered's first one waits.
        await eventually(
            lambda: all(results(dsn, unrelated)), what="the other objects' events"
        )
        await eventually(
            lambda: (
                query(
                    dsn,
                    "SELECT count(*) FROM queue.job_outcomes"
                    " WHERE job_id = %s AND status = 'retried'",
                    (first,),
                )[0][0]
                >= 2
            ),
            what="the first event to be retried",
        )
        (error,) = query(
            dsn,
            "SELECT error_message FROM queue.job_outcomes WHERE job_id = %s LIMIT 1",
            (first,),
        )[0]
        assert "no job has recorded pi_ordered yet" in error
        # Behind it, the later events of the same payment have not started.
        assert query(
            dsn,
            "SELECT count(*) FROM queue.job_outcomes WHERE job_id = ANY(%s)",
            ([second, third],),
        ) == [(0,)]
        blocked = query(
            dsn,
            "SELECT reason, blocking_job_id FROM queue.explain_job(%s)"
            " WHERE reason = 'lock_held'",
            (second,),
        )
        assert blocked == [("lock_held", first)]

        # The payment job's calls are recorded now, as its gate would have.
        (key,) = query(
            dsn,
            "SELECT args -> 'meta' ->> 'idempotency_key' FROM procrastinate_jobs"
            " WHERE id = %s",
            (origin,),
        )[0]
        answer = {
            "id": "pi_ordered",
            "status": "processing",
            "latest_charge": "ch_ordered",
        }
        for step in ("create", "confirm"):
            query(
                dsn,
                "INSERT INTO queue.side_effects"
                " (key, job_id, provider, step, fingerprint, status, response, finished_at)"
                " VALUES (%s, %s, 'stripe', %s, 'recorded-by-test', 'succeeded', %s, now())",
                (f"{key}:{step}", origin, step, Jsonb(answer)),
            )
        await eventually(
            lambda: len(deliveries(receiver, "/ordered")) == 3,
            what="pi_ordered's events at the payment's callback",
        )

    assert [d.json["event"] for d in deliveries(receiver, "/ordered")] == [
        "stripe.payment_intent.processing",
        "stripe.charge.succeeded",
        "stripe.payment_intent.succeeded",
    ]
    assert [d.headers["x-webhook-id"] for d in deliveries(receiver, "/ordered")] == [
        e["id"] for e in ordered
    ]
    # One at a time, in the order Stripe sent them.
    spans = query(
        dsn,
        "SELECT job_id, started_at, finished_at FROM queue.job_outcomes"
        " WHERE job_id = ANY(%s) AND status = 'succeeded'",
        ([first, second, third],),
    )
    by_job = {job_id: (start, end) for job_id, start, end in spans}
    assert by_job[first][1] <= by_job[second][0]
    assert by_job[second][1] <= by_job[third][0]
    # The other objects' events finished before pi_ordered's first could.
    others_done = query(
        dsn,
        "SELECT max(finished_at) FROM queue.job_outcomes WHERE job_id = ANY(%s)",
        (unrelated,),
    )[0][0]
    assert others_done < by_job[first][1]
    assert [r["outcome"] for r in results(dsn, [first, second, third])] == [
        "forwarded"
    ] * 3
    assert [r["outcome"] for r in results(dsn, unrelated)] == [
        "unmatched",
        "unmatched",
        "unhandled",
    ]
