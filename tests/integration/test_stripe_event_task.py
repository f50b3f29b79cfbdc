"""The stripe-event task body against the real database: how it matches and when it waits."""

import time

import pytest
from psycopg.types.json import Jsonb

from app.domain.errors import PermanentTaskError, RetryableTaskError
from app.domain.stripe_events import job_data
from tests.helpers.perform import close_deps, open_deps, perform
from tests.helpers.stripe_events import event
from tests.helpers.workers import enqueue, query
from workers.tasks.stripe_events import stripe_event

PAYOUT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "payoutId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "amount": 9900,
    "currency": "usd",
}


@pytest.fixture
async def deps(db_dsn, tmp_path):
    opened = await open_deps(db_dsn, tmp_path)
    yield opened
    await close_deps(opened)


def payout_job(dsn, **extra):
    """A payout-process job whose Stripe call made po_1, recorded in the ledger."""
    job = enqueue(dsn, "money", "payout-process", {**PAYOUT, **extra})
    query(
        dsn,
        "INSERT INTO queue.side_effects"
        " (key, job_id, provider, step, fingerprint, status, response, finished_at)"
        " VALUES (%s, %s, 'stripe', 'payout', 'f', 'succeeded', %s, now())",
        (f"payout-{job}:payout", job, Jsonb({"id": "po_1", "status": "pending"})),
    )
    return job


async def run(deps, obj, type_="payout.paid"):
    return await perform(
        stripe_event,
        deps,
        data=job_data(event(type_, obj)),
        meta={"request_id": "req-1"},
        job_id=10_000,
        job_type="stripe-event",
        queue="money",
    )


PAID = {"id": "po_1", "object": "payout", "status": "paid"}


async def test_a_payout_event_is_forwarded_to_the_payouts_callback(deps, db_dsn):
    job = payout_job(db_dsn, callbackUrl="https://venues.example/payouts")
    result = await run(deps, {**PAID, "created": int(time.time())})

    assert (result["outcome"], result["jobId"], result["jobType"]) == (
        "forwarded",
        job,
        "payout-process",
    )
    [(url, name, stream, payload, meta)] = query(
        db_dsn,
        "SELECT args -> 'data' ->> 'url', args -> 'data' ->> 'event',"
        " args -> 'data' ->> 'stream', args -> 'data' -> 'payload', args -> 'meta'"
        " FROM procrastinate_jobs WHERE id = %s",
        (result["webhookJobId"],),
    )
    assert (url, name, stream) == (
        "https://venues.example/payouts",
        "stripe.payout.paid",
        f"job-{job}",
    )
    assert payload["object"]["status"] == "paid" and payload["jobId"] == job
    assert (meta["request_id"], meta["stripe_event_job"]) == ("req-1", 10_000)


async def test_the_same_event_forwarded_twice_is_one_webhook(deps, db_dsn):
    payout_job(db_dsn, callbackUrl="https://venues.example/payouts")
    data = job_data(event("payout.paid", {**PAID, "created": int(time.time())}))
    first = await perform(
        stripe_event, deps, data=data, job_id=1, job_type="stripe-event", queue="money"
    )
    second = await perform(
        stripe_event, deps, data=data, job_id=1, job_type="stripe-event", queue="money"
    )
    assert first["webhookJobId"] == second["webhookJobId"]


async def test_an_event_waits_while_its_job_runs_so_the_jobs_callback_goes_first(
    deps, db_dsn
):
    job = payout_job(db_dsn, callbackUrl="https://venues.example/payouts")
    query(
        db_dsn, "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", (job,)
    )
    with pytest.raises(
        RetryableTaskError, match=f"payout-process job {job} is still running"
    ):
        await run(deps, {**PAID, "created": int(time.time())})


async def test_a_job_without_a_callback_or_gone_is_recorded(deps, db_dsn):
    job = payout_job(db_dsn)
    result = await run(deps, {**PAID, "created": int(time.time())})
    assert (result["outcome"], result["jobId"]) == ("recorded", job)
    assert result["detail"] == f"payout-process job {job} has no callback URL"

    query(db_dsn, "DELETE FROM procrastinate_jobs WHERE id = %s", (job,))
    gone = await run(deps, {**PAID, "created": int(time.time())})
    assert (gone["outcome"], gone["jobId"], gone["jobType"]) == ("recorded", job, None)
    assert "no longer exists" in gone["detail"]


async def test_a_callback_url_never_checked_is_recorded_not_sent(deps, db_dsn):
    # Written around the enqueue path, where nobody validated it.
    job = payout_job(db_dsn)
    query(
        db_dsn,
        "UPDATE procrastinate_jobs"
        " SET args = jsonb_set(args, '{data,callbackUrl}', '\"not a url\"')"
        " WHERE id = %s",
        (job,),
    )
    result = await run(deps, {**PAID, "created": int(time.time())})
    assert result["outcome"] == "recorded"
    assert "callback URL of job" in result["detail"]


async def test_an_object_nobody_recorded_is_waited_for_while_young(deps, db_dsn):
    del db_dsn
    young = {"id": "po_new", "object": "payout", "created": int(time.time()) - 5}
    with pytest.raises(RetryableTaskError, match="no job has recorded po_new yet"):
        await run(deps, young)
    old = {**young, "created": int(time.time()) - 3600}
    result = await run(deps, old)
    assert result["outcome"] == "unmatched"


async def test_a_call_far_from_the_objects_creation_does_not_match(deps, db_dsn):
    payout_job(db_dsn, callbackUrl="https://venues.example/payouts")
    # Same id, but Stripe made it a week before this ledger row's call.
    result = await run(deps, {**PAID, "created": int(time.time()) - 7 * 86400})
    assert result["outcome"] == "unmatched"


async def test_data_written_around_the_api_fails_the_job_for_good(deps):
    with pytest.raises(PermanentTaskError, match="invalid payload"):
        await perform(
            stripe_event,
            deps,
            data={"id": "evt_1", "type": "payout.paid"},
            job_type="stripe-event",
            queue="money",
        )
