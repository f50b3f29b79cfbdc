"""Provider job types run as a worker runs them: real SDKs, fake providers, real Postgres.

The gate (ledger, breaker, buckets) is exercised through the task bodies, so
what is asserted is what a job would do: what the fake provider saw, what the
ledger recorded, what the job returned or raised.
"""

import asyncio
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app.domain.errors import JobDeferred, PermanentTaskError, ProviderNotConfigured
from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.perform import close_deps, open_deps, perform
from workers.providers.errors import ProviderRejected, ProviderUnavailable
from workers.tasks import communication, money

PAYMENT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 1500,
    "currency": "usd",
    "paymentMethodId": "pm_card_visa",
}
KEY = "payment-test-key"
META = {"idempotency_key": KEY, "request_id": "r-1"}


def sql(dsn, statement, params=()):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def ledger(dsn, job_id=1):
    return sql(
        dsn,
        "SELECT step, status, calls, resends FROM queue.side_effects WHERE job_id = %s ORDER BY started_at",
        (job_id,),
    )


@pytest.fixture
async def deps(db_dsn, tmp_path, fake_provider_settings, fake_webhook_receiver):
    del fake_webhook_receiver  # started so webhooks have somewhere to go
    opened = await open_deps(
        db_dsn, tmp_path, providers=fake_provider_settings, max_wait_s=0.5
    )
    yield opened
    await close_deps(opened)


async def pay(deps, *, data=None, job_id=1, meta=META):
    return await perform(
        money.payment_process,
        deps,
        data=data or PAYMENT,
        meta=meta,
        job_id=job_id,
        job_type="payment-process",
        queue="money",
    )


async def test_payment_creates_and_confirms_with_step_keys(deps, db_dsn, fake_stripe):
    result = await pay(deps)

    create, confirm = fake_stripe.requests_to("/v1/payment_intents")
    assert create.headers["Idempotency-Key"] == f"{KEY}:create"
    assert create.form["amount"] == "1500" and create.form["currency"] == "usd"
    assert create.form["payment_method"] == "pm_card_visa"
    assert confirm.path == f"/v1/payment_intents/{result['transactionId']}/confirm"
    assert confirm.headers["Idempotency-Key"] == f"{KEY}:confirm"
    assert result["status"] == "succeeded" and result["amount"] == 1500
    assert result["chargeId"] == fake_stripe.charges[0]["id"]
    assert ledger(db_dsn) == [
        ("create", "succeeded", 1, 0),
        ("confirm", "succeeded", 1, 0),
    ]


async def test_payment_retried_after_success_calls_stripe_no_more(
    deps, db_dsn, fake_stripe
):
    first = await pay(deps)
    sent = len(fake_stripe.requests)

    again = await pay(deps, job_id=2)  # a later job under the same key

    assert again == first
    assert len(fake_stripe.requests) == sent
    assert len(fake_stripe.charges) == 1


async def test_payment_lost_answer_is_replayed_by_stripe_not_charged_twice(
    deps, db_dsn, fake_stripe
):
    first = await pay(deps)
    # A worker died after Stripe answered the confirmation and before the
    # ledger recorded it: the row is still "started".
    sql(
        db_dsn,
        "UPDATE queue.side_effects SET status = 'started' WHERE step = 'confirm'",
    )

    again = await pay(deps)

    assert again["transactionId"] == first["transactionId"]
    assert len(fake_stripe.side_effects_for(f"{KEY}:confirm")) == 1
    assert len(fake_stripe.charges) == 1
    confirms = fake_stripe.requests_to(f"/v1/payment_intents/{first['transactionId']}")
    assert len(confirms) == 2  # sent again, and answered from Stripe's key
    # Sent again with no recorded answer: a resend, which Stripe's key absorbed.
    assert ledger(db_dsn)[1] == ("confirm", "succeeded", 2, 1)


async def test_payment_declined_card_fails_for_good_with_stripes_code(
    deps, db_dsn, fake_stripe
):
    with pytest.raises(ProviderRejected) as caught:
        await pay(deps, data={**PAYMENT, "paymentMethodId": "pm_card_chargeDeclined"})

    assert isinstance(caught.value, PermanentTaskError)
    assert caught.value.code == "card_declined"
    assert fake_stripe.charges == []
    step, status, _, _ = ledger(db_dsn)[1]
    assert (step, status) == ("confirm", "failed")


async def test_provider_429_defers_the_job_and_holds_the_bucket(
    deps, db_dsn, fake_stripe
):
    fake_stripe.fail_next(1, 429, headers={"Retry-After": "7"})
    before = datetime.now(UTC)

    with pytest.raises(JobDeferred) as caught:
        await pay(deps)

    assert caught.value.reason == "rate_limited"
    assert (
        before + timedelta(seconds=6)
        < caught.value.until
        < before + timedelta(seconds=9)
    )
    ((hold_until,),) = sql(
        db_dsn, "SELECT hold_until FROM queue.rate_limit_status WHERE name = 'stripe'"
    )
    assert hold_until > before + timedelta(seconds=6)
    # While held, nothing is sent: the next attempt waits without calling.
    sent = len(fake_stripe.requests)
    with pytest.raises(JobDeferred) as again:
        await pay(deps)
    assert again.value.reason == "held"
    assert len(fake_stripe.requests) == sent


async def test_breaker_opens_after_failures_then_a_probe_closes_it(
    deps, db_dsn, fake_stripe
):
    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET failure_threshold = 2, open_s = 0.5 "
        "WHERE provider = 'stripe'",
    )
    fake_stripe.fail_next(2, 500)
    for job_id in (1, 2):
        with pytest.raises(ProviderUnavailable):
            await pay(deps, job_id=job_id)
    sent = len(fake_stripe.requests)

    with pytest.raises(JobDeferred) as caught:
        await pay(deps, job_id=3)
    assert caught.value.reason == "breaker_open"
    assert len(fake_stripe.requests) == sent  # open: nothing reaches Stripe
    assert sql(
        db_dsn, "SELECT state FROM queue.circuit_breakers WHERE provider = 'stripe'"
    ) == [("open",)]

    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET retry_at = now() WHERE provider = 'stripe'",
    )
    result = await pay(deps, job_id=4)  # the probe
    assert result["status"] == "succeeded"
    assert sql(
        db_dsn,
        "SELECT state, failures FROM queue.circuit_breakers WHERE provider = 'stripe'",
    ) == [("closed", 0)]


async def test_emergency_stop_defers_without_calling(deps, db_dsn, fake_twilio):
    sql(db_dsn, "UPDATE queue.rate_limits SET paused = true WHERE name = 'twilio'")

    with pytest.raises(JobDeferred) as caught:
        await perform(
            communication.send_sms,
            deps,
            data={"to": "+14155550100", "message": "Doors open at 7"},
            job_type="send-sms",
            queue="communication",
        )

    assert caught.value.reason == "stopped"
    assert fake_twilio.requests == []


async def test_ledger_counts_a_retry_after_a_recorded_failure_as_no_resend(
    deps, db_dsn, fake_twilio
):
    fake_twilio.fail_next(1, 503)
    sms = {"to": "+14155550100", "message": "Doors open at 7"}
    with pytest.raises(ProviderUnavailable):
        await perform(communication.send_sms, deps, data=sms, job_type="send-sms")
    await perform(communication.send_sms, deps, data=sms, job_type="send-sms")

    # Two calls, the first answered 503: an ordinary retry, not a resend.
    assert ledger(db_dsn) == [("send", "succeeded", 2, 0)]
    assert len(fake_twilio.messages) == 1


async def test_empty_bucket_waits_briefly_then_defers(deps, db_dsn, fake_twilio):
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 0, refilled_at = now(), rate_per_s = 0.1 "
        "WHERE name = 'twilio-sms'",
    )

    with pytest.raises(JobDeferred) as caught:
        await perform(
            communication.send_sms,
            deps,
            data={"to": "+14155550100", "message": "Doors open at 7"},
            job_type="send-sms",
            queue="communication",
        )

    assert caught.value.reason == "tokens"
    # 1 token at 0.1/s: about 10 s away, beyond the 0.5 s the worker waits.
    assert caught.value.until > datetime.now(UTC) + timedelta(seconds=8)
    assert fake_twilio.requests == []


async def test_expired_leases_free_their_slots(deps, db_dsn, fake_twilio):
    # A worker killed mid-call left 5 leases (twilio's max) that have expired.
    sql(
        db_dsn,
        "INSERT INTO queue.rate_limit_leases (bucket, job_id, expires_at) "
        "SELECT 'twilio', 99, now() - interval '1 second' FROM generate_series(1, 5)",
    )

    result = await perform(
        communication.send_sms,
        deps,
        data={"to": "+14155550100", "message": "Doors open at 7"},
        job_type="send-sms",
        queue="communication",
    )

    assert result["sid"].startswith("SM")
    assert sql(db_dsn, "SELECT count(*) FROM queue.rate_limit_leases") == [(0,)]


async def test_sms_email_push_and_mint_reach_their_providers(
    deps, db_dsn, fake_twilio, fake_sendgrid, fake_push, fake_minting
):
    sms = await perform(
        communication.send_sms,
        deps,
        data={"to": "+14155550100", "message": "Doors open at 7"},
        job_type="send-sms",
        job_id=1,
    )
    email = await perform(
        communication.send_email,
        deps,
        data={
            "to": "fan@example.com",
            "subject": "Your tickets",
            "content": "<p>Hi</p>",
        },
        job_type="send-email",
        job_id=2,
    )
    push = await perform(
        communication.send_push,
        deps,
        data={
            "userId": PAYMENT["userId"],
            "title": "Doors open",
            "body": "See you at 7",
        },
        job_type="send-push",
        job_id=3,
    )
    mint = await perform(
        money.nft_mint,
        deps,
        data={
            "eventId": PAYMENT["eventId"],
            "userId": PAYMENT["userId"],
            "walletAddress": "So1anaWa11et",
            "seatId": "A-12",
        },
        meta={"idempotency_key": "nft-key"},
        job_type="nft-mint",
        job_id=4,
    )

    assert sms == {"sid": fake_twilio.messages[0].sid, "status": "queued"}
    assert fake_twilio.messages[0].body == "Doors open at 7"
    assert email["status"] == "sent" and email["messageId"]
    assert fake_sendgrid.sent[0].body["subject"] == "Your tickets"
    assert fake_push.requests[0].json["title"] == "Doors open"
    assert push
    assert mint["mintAddress"] and mint["transactionSignature"]
    assert fake_minting.requests[0].headers["Idempotency-Key"] == "nft-key:mint"
    statuses = sql(
        db_dsn, "SELECT provider, status FROM queue.side_effects ORDER BY job_id"
    )
    assert statuses == [
        ("twilio", "succeeded"),
        ("sendgrid", "succeeded"),
        ("push", "succeeded"),
        ("minting", "succeeded"),
    ]


async def test_webhook_is_signed_and_has_a_breaker_per_host(
    deps, db_dsn, fake_webhook_receiver
):
    result = await perform(
        communication.webhook_deliver,
        deps,
        data={
            "url": f"{fake_webhook_receiver.url}/hooks/tickets",
            "eventId": "evt-1",
            "event": "ticket.sold",
            "payload": {"ticket": 7},
        },
        job_type="webhook-deliver",
    )

    assert result == {"statusCode": 200, "eventId": "evt-1"}
    # The receiver checked the signature with the shared secret.
    assert fake_webhook_receiver.valid_signatures == [True]
    assert sql(
        db_dsn,
        "SELECT provider, state FROM queue.circuit_breakers WHERE provider LIKE 'webhook:%%'",
    ) == [("webhook:127.0.0.1", "closed")]


async def test_missing_credentials_fail_for_good_and_name_the_variables(
    db_dsn, tmp_path, fake_twilio
):
    unconfigured = await open_deps(db_dsn, tmp_path, providers=settings_for_fakes())
    try:
        with pytest.raises(ProviderNotConfigured) as caught:
            await perform(
                communication.send_sms,
                unconfigured,
                data={"to": "+14155550100", "message": "Doors open at 7"},
                job_type="send-sms",
            )
    finally:
        await close_deps(unconfigured)

    assert "TWILIO_ACCOUNT_SID" in str(caught.value)
    assert "not sent" in str(caught.value)
    assert fake_twilio.requests == []
    assert sql(db_dsn, "SELECT count(*) FROM queue.rate_limit_leases") == [(0,)]


async def test_bad_payload_fails_before_any_call(deps, fake_twilio):
    with pytest.raises(PermanentTaskError, match="/data/to"):
        await perform(
            communication.send_sms,
            deps,
            data={"to": "555", "message": "hi"},
            job_type="send-sms",
        )
    assert fake_twilio.requests == []


async def test_interrupted_call_frees_its_slots_and_keeps_the_ledger_started(
    deps, db_dsn, fake_twilio
):
    fake_twilio.delay_s = 2.0  # the call is still out when the job is cancelled
    task = asyncio.create_task(
        perform(
            communication.send_sms,
            deps,
            data={"to": "+14155550100", "message": "Doors open at 7"},
            job_type="send-sms",
        )
    )
    await asyncio.sleep(0.5)  # the request reaches the fake in milliseconds
    assert len(fake_twilio.requests) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert sql(db_dsn, "SELECT count(*) FROM queue.rate_limit_leases") == [(0,)]
    # Nobody knows whether Twilio sent it: the row stays started.
    assert ledger(db_dsn) == [("send", "started", 1, 0)]
