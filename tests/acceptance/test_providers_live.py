"""Provider jobs through real worker processes, against fake providers over HTTP.

Limits and breakers live in Postgres, so they hold across processes; a worker
killed mid-payment leaves a ledger row that keeps the rescued job from paying
twice.
"""

import os
import signal
import threading

from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.workers import (
    enqueue,
    provider_env,
    query,
    wait_for,
    worker_process,
)

PAYMENT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 4200,
    "currency": "usd",
    "paymentMethodId": "pm_card_visa",
}


def states(dsn, job_ids):
    rows = query(
        dsn,
        "SELECT status::text FROM procrastinate_jobs WHERE id = ANY(%s)",
        (list(job_ids),),
    )
    return [state for (state,) in rows]


def test_three_workers_keep_sms_under_the_shared_limit(db_dsn, tmp_path, fake_twilio):
    rate, burst, count = 2, 2, 24
    env = {
        **provider_env(settings_for_fakes(twilio=fake_twilio)),
        "RATE_LIMIT_TWILIO_PER_S": str(rate),
        "RATE_LIMIT_TWILIO_BURST": str(burst),
        "RATE_LIMIT_TWILIO_SMS_PER_S": str(rate),
        "RATE_LIMIT_TWILIO_SMS_BURST": str(burst),
    }
    jobs = [
        enqueue(
            db_dsn,
            "communication",
            "send-sms",
            {"to": f"+1415555{n:04d}", "message": f"Row {n}", "template": "seat"},
        )
        for n in range(count)
    ]
    with (
        worker_process(db_dsn, tmp_path, "--queues", "communication", name="w1", **env),
        worker_process(db_dsn, tmp_path, "--queues", "communication", name="w2", **env),
        worker_process(db_dsn, tmp_path, "--queues", "communication", name="w3", **env),
    ):
        wait_for(
            lambda: states(db_dsn, jobs) == ["succeeded"] * count,
            timeout=90,
            what="every SMS to be sent",
        )

    sent_to = sorted(message.to for message in fake_twilio.messages)
    assert sent_to == sorted(f"+1415555{n:04d}" for n in range(count))  # once each
    # Never more than the rate plus the burst in any window, whichever
    # process sent them.
    for window_s in (1.0, 3.0, 6.0):
        assert fake_twilio.max_in_window(window_s) <= rate * window_s + burst
    # Waiting for a token never spends an attempt.
    assert query(
        db_dsn,
        "SELECT max(attempts) FROM procrastinate_jobs WHERE id = ANY(%s)",
        (jobs,),
    ) == [(1,)]


def test_worker_killed_after_stripe_answered_charges_once(
    db_dsn, tmp_path, fake_stripe
):
    env = provider_env(settings_for_fakes(stripe=fake_stripe))
    killed = threading.Event()
    doomed_pid: list[int] = []

    def kill_after_confirm(request):
        # Stripe has charged and answered; the worker has not finished the job.
        if request.path.endswith("/confirm") and not killed.is_set():
            os.kill(doomed_pid[0], signal.SIGKILL)
            killed.set()

    fake_stripe.on_answer = kill_after_confirm
    job = enqueue(db_dsn, "money", "payment-process", PAYMENT)
    (key,) = query(
        db_dsn,
        "SELECT args -> 'meta' ->> 'idempotency_key' FROM procrastinate_jobs WHERE id = %s",
        (job,),
    )[0]
    with worker_process(
        db_dsn, tmp_path, "--queues", "money", name="doomed", **env
    ) as doomed:
        doomed_pid.append(doomed.pid)
        assert killed.wait(timeout=60), "the worker never reached the confirmation"
        doomed.wait(timeout=10)
    assert doomed.returncode == -signal.SIGKILL
    assert states(db_dsn, [job]) == ["doing"]

    # Another worker rescues the job once the dead one's heartbeat is stale.
    with worker_process(db_dsn, tmp_path, name="survivor", **env):
        wait_for(
            lambda: states(db_dsn, [job]) == ["succeeded"],
            timeout=60,
            what="the rescued payment to finish",
        )

    assert len(fake_stripe.side_effects_for(f"{key}:confirm")) == 1
    assert len(fake_stripe.charges) == 1
    (intent_id,) = fake_stripe.intents
    outcomes = query(
        db_dsn,
        "SELECT status, result ->> 'transactionId' FROM queue.job_outcomes "
        "WHERE job_id = %s ORDER BY attempt",
        (job,),
    )
    assert outcomes[-1] == ("succeeded", intent_id)
    assert ("failed", None) not in outcomes


def test_rate_limited_attempt_is_rescheduled_without_spending_it(
    db_dsn, tmp_path, fake_twilio
):
    fake_twilio.fail_next(1, 429, headers={"Retry-After": "1"})
    env = provider_env(settings_for_fakes(twilio=fake_twilio))
    job = enqueue(
        db_dsn,
        "communication",
        "send-sms",
        {"to": "+14155550100", "message": "Hi", "template": "hi"},
    )
    with worker_process(db_dsn, tmp_path, "--queues", "communication", **env):
        wait_for(
            lambda: states(db_dsn, [job]) == ["succeeded"],
            timeout=30,
            what="the SMS to be sent after the 429",
        )

    assert query(
        db_dsn,
        "SELECT status FROM queue.job_outcomes WHERE job_id = %s ORDER BY id",
        (job,),
    ) == [("rate_limited",), ("succeeded",)]
    assert query(
        db_dsn, "SELECT attempts FROM procrastinate_jobs WHERE id = %s", (job,)
    ) == [(1,)]
    first, second = fake_twilio.requests_to("/2010-04-01/")
    assert second.at - first.at >= 1.0  # Retry-After was honoured


def test_finished_job_calls_back_with_a_signed_webhook(
    db_dsn, tmp_path, fake_webhook_receiver
):
    env = provider_env(settings_for_fakes())
    job = enqueue(
        db_dsn,
        "background",
        "analytics-track",
        {
            "eventType": "ticket_viewed",
            "callbackUrl": f"{fake_webhook_receiver.url}/callbacks",
        },
    )
    with worker_process(db_dsn, tmp_path, **env):
        wait_for(
            lambda: fake_webhook_receiver.requests,
            timeout=30,
            what="the callback webhook",
        )

    (callback,) = fake_webhook_receiver.requests
    assert callback.path == "/callbacks"
    assert callback.json["event"] == "job.completed"
    assert callback.json["payload"]["jobId"] == job
    assert callback.json["payload"]["status"] == "completed"
    assert callback.headers["X-Webhook-Id"] == f"job-{job}"
    assert fake_webhook_receiver.valid_signatures == [True]
