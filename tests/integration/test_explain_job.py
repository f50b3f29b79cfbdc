"""queue.explain_job: why a job is not running, one reason per row, from real rows."""

from datetime import timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.db.queries.explain import ReasonRow, explain_job
from app.domain.errors import JobNotFound

QUEUES = ("money", "communication", "background", "maintenance")
EVENT = {"eventType": "seat_viewed"}
SMS = {"to": "+14155550100", "message": "Doors open at 7", "template": "doors"}
PAYMENT = {
    "venueId": "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01",
    "userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02",
    "eventId": "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03",
    "amount": 4200,
    "currency": "USD",
    "paymentMethodId": "pm_1",
}


@pytest.fixture
def db(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture
def listening(db):
    """A live worker on every queue, so that only the reason under test shows."""
    return {queue: add_worker(db, queue) for queue in QUEUES}


def add_worker(db, queue, *, silent_for="0 seconds"):
    (worker_id,) = db.execute(
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - %s::interval) RETURNING id",
        (silent_for,),
    ).fetchone()
    db.execute(
        "INSERT INTO queue.worker_queues (worker_id, queue_name) VALUES (%s, %s)",
        (worker_id, queue),
    )
    return worker_id


def enqueue(db, queue, job_type, data, **options):
    names = "".join(f", {name} => %({name})s" for name in options)
    (job_id,) = db.execute(
        f"SELECT job_id FROM queue.enqueue(%(queue)s, %(job_type)s, %(data)s{names})",
        {"queue": queue, "job_type": job_type, "data": Jsonb(data), **options},
    ).fetchone()
    return job_id


def explain(db, job_id, stalled_after_s=30.0):
    return db.execute(
        "SELECT reason, detail, until, blocking_job_id FROM queue.explain_job(%s, %s)",
        (job_id, stalled_after_s),
    ).fetchall()


def reasons(db, job_id):
    return [row[0] for row in explain(db, job_id)]


def only(db, job_id, reason):
    rows = explain(db, job_id)
    assert [row[0] for row in rows] == [reason], rows
    return rows[0]


def test_explain_job_unknown_id_raises_qs013(db):
    with pytest.raises(psycopg.Error) as caught:
        explain(db, 999_999)
    assert caught.value.sqlstate == "QS013"
    assert "job 999999 does not exist" in str(caught.value)


def test_explain_job_scheduled_for_later_says_until_when(db, listening):
    job = enqueue(
        db, "background", "analytics-track", EVENT, run_at="2099-01-01T00:00:00Z"
    )
    _, detail, until, blocking = only(db, job, "scheduled")
    assert detail.startswith("scheduled for later: runs at 2099-01-01T00:00:00Z (in ")
    assert until.isoformat() == "2099-01-01T00:00:00+00:00"
    assert blocking is None


def test_explain_job_paused_queue(db, listening):
    job = enqueue(db, "background", "analytics-track", EVENT)
    db.execute("UPDATE queue.queues SET paused = true WHERE name = 'background'")
    assert only(db, job, "queue_paused")[1] == "queue background is paused"


def test_explain_job_scheduled_and_paused_gives_both(db, listening):
    job = enqueue(
        db, "background", "analytics-track", EVENT, run_at="2099-01-01T00:00:00Z"
    )
    db.execute("UPDATE queue.queues SET paused = true WHERE name = 'background'")
    assert reasons(db, job) == ["scheduled", "queue_paused"]


def test_explain_job_lock_held_by_running_job(db, listening):
    running = enqueue(db, "background", "analytics-track", EVENT)
    waiting = enqueue(db, "background", "analytics-track", EVENT)
    db.execute(
        "UPDATE procrastinate_jobs SET lock = 'seat-12' WHERE id IN (%s, %s)",
        (running, waiting),
    )
    db.execute(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
        (listening["background"], running),
    )
    _, detail, until, blocking = only(db, waiting, "lock_held")
    assert detail == f"serial lock 'seat-12' is held by job {running}, which is running"
    assert blocking == running
    assert until is None


def test_explain_job_lock_held_by_earlier_waiting_job(db, listening):
    first = enqueue(db, "background", "analytics-track", EVENT)
    second = enqueue(db, "background", "analytics-track", EVENT)
    db.execute(
        "UPDATE procrastinate_jobs SET lock = 'seat-12' WHERE id IN (%s, %s)",
        (first, second),
    )
    _, detail, _, blocking = only(db, second, "lock_held")
    assert detail.endswith("which waits ahead of it")
    assert blocking == first
    assert reasons(db, first) == ["waiting"]


def test_explain_job_higher_priority_job_takes_the_lock_first(db, listening):
    first = enqueue(db, "background", "analytics-track", EVENT, priority=3)
    urgent = enqueue(db, "background", "analytics-track", EVENT, priority=9)
    db.execute(
        "UPDATE procrastinate_jobs SET lock = 'seat-12' WHERE id IN (%s, %s)",
        (first, urgent),
    )
    assert only(db, first, "lock_held")[3] == urgent
    assert reasons(db, urgent) == ["waiting"]


def test_explain_job_rate_limit_stopped(db, listening):
    job = enqueue(db, "communication", "send-sms", SMS)
    db.execute("UPDATE queue.rate_limits SET paused = true WHERE name = 'twilio-sms'")
    detail = only(db, job, "rate_limited")[1]
    assert detail.startswith("rate limit twilio-sms is stopped (emergency stop)")


def test_explain_job_rate_limit_group_held_after_retry_after(db, listening):
    job = enqueue(db, "communication", "send-sms", SMS)
    (hold_until,) = db.execute(
        "UPDATE queue.rate_limits SET hold_until = now() + interval '40 seconds',"
        " refilled_at = now() + interval '40 seconds', tokens = 0"
        " WHERE name = 'twilio' RETURNING hold_until"
    ).fetchone()
    _, detail, until, _ = only(db, job, "rate_limited")
    assert detail.startswith("rate limit twilio is held until ")
    assert until == hold_until


def test_explain_job_rate_limit_without_tokens_says_when_the_next_comes(db, listening):
    job = enqueue(db, "communication", "send-sms", SMS)
    (refilled_at,) = db.execute(
        "UPDATE queue.rate_limits SET tokens = 0, refilled_at = now(), rate_per_s = 0.1"
        " WHERE name = 'twilio-sms' RETURNING refilled_at"
    ).fetchone()
    _, detail, until, _ = only(db, job, "rate_limited")
    assert detail.startswith("rate limit twilio-sms has no token until ")
    assert until == refilled_at + timedelta(seconds=10)


def test_explain_job_rate_limit_at_max_concurrency(db, listening):
    job = enqueue(db, "money", "payment-process", PAYMENT)
    db.execute(
        "INSERT INTO queue.rate_limit_leases (bucket, expires_at)"
        " SELECT 'stripe', now() + interval '1 minute' FROM generate_series(1, 10)"
    )
    detail = only(db, job, "rate_limited")[1]
    assert detail == "rate limit stripe is at its limit of 10 concurrent calls"


def test_explain_job_expired_leases_do_not_count(db, listening):
    job = enqueue(db, "money", "payment-process", PAYMENT)
    db.execute(
        "INSERT INTO queue.rate_limit_leases (bucket, expires_at)"
        " SELECT 'stripe', now() - interval '1 second' FROM generate_series(1, 10)"
    )
    assert reasons(db, job) == ["waiting"]


def test_explain_job_breaker_open(db, listening):
    job = enqueue(db, "money", "payment-process", PAYMENT)
    (retry_at,) = db.execute(
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5,"
        " opened_at = now(), retry_at = now() + interval '30 seconds'"
        " WHERE provider = 'stripe' RETURNING retry_at"
    ).fetchone()
    _, detail, until, _ = only(db, job, "breaker_open")
    assert detail.startswith("the stripe circuit breaker is open until ")
    assert detail.endswith(", after 5 failures")
    assert until == retry_at


def test_explain_job_breaker_of_a_webhook_host(db, listening):
    hook = {
        "url": "https://Hooks.Example.com:8443/in",
        "event": "ticket.sold",
        "eventId": "evt-1",
        "payload": {},
    }
    job = enqueue(db, "communication", "webhook-deliver", hook)
    db.execute(
        "INSERT INTO queue.circuit_breakers (provider, state, retry_at)"
        " VALUES ('webhook:hooks.example.com', 'half_open', now() + interval '30 seconds')"
    )
    detail = only(db, job, "breaker_open")[1]
    assert detail.startswith(
        "the webhook:hooks.example.com circuit breaker is half-open"
    )


def test_explain_job_limits_that_lift_before_the_run_time_do_not_hold_it(db, listening):
    job = enqueue(
        db, "money", "payment-process", PAYMENT, run_at="2099-01-01T00:00:00Z"
    )
    db.execute(
        "UPDATE queue.circuit_breakers SET state = 'open', retry_at = now() + interval '30 seconds'"
        " WHERE provider = 'stripe'"
    )
    db.execute("UPDATE queue.rate_limits SET tokens = 0, refilled_at = now()")
    assert reasons(db, job) == ["scheduled"]


def test_explain_job_no_worker_on_its_queue(db):
    job = enqueue(db, "background", "analytics-track", EVENT)
    add_worker(db, "money")  # another queue's worker does not count
    assert only(db, job, "no_worker")[1] == "no worker is listening to queue background"


def test_explain_job_silent_worker_does_not_count(db):
    job = enqueue(db, "background", "analytics-track", EVENT)
    add_worker(db, "background", silent_for="10 minutes")
    detail = only(db, job, "no_worker")[1]
    assert detail.startswith(
        "no worker is listening to queue background (the last one heartbeated at "
    )
    assert detail.endswith("10 min 0 s ago))")


def test_explain_job_stalled_after_s_decides_what_is_silent(db):
    job = enqueue(db, "background", "analytics-track", EVENT)
    add_worker(db, "background", silent_for="10 minutes")
    assert [row[0] for row in explain(db, job, stalled_after_s=3600)] == ["waiting"]


def test_explain_job_waiting_counts_due_jobs_ahead(db, listening):
    enqueue(db, "background", "analytics-track", EVENT)
    job = enqueue(db, "background", "analytics-track", EVENT)
    enqueue(db, "background", "analytics-track", EVENT, priority=9)  # later, but first
    enqueue(db, "background", "analytics-track", EVENT)  # behind it
    enqueue(db, "background", "analytics-track", EVENT, run_at="2099-01-01T00:00:00Z")
    running = enqueue(db, "background", "analytics-track", EVENT, priority=10)
    db.execute(
        "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s", (running,)
    )
    _, detail, until, blocking = only(db, job, "waiting")
    assert detail == "waiting: 2 due jobs ahead of it in queue background (1 running)"
    assert (until, blocking) == (None, None)


def test_explain_job_next_in_line(db, listening):
    job = enqueue(db, "background", "analytics-track", EVENT)
    assert only(db, job, "waiting")[1] == (
        "waiting: next in line in queue background (0 running)"
    )


def test_explain_job_running_on_a_live_worker(db, listening):
    job = enqueue(db, "background", "analytics-track", EVENT)
    worker = listening["background"]
    db.execute(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
        (worker, job),
    )
    detail = only(db, job, "running")[1]
    assert detail.startswith(f"running on worker {worker} of queue background since ")


def test_explain_job_running_on_a_silent_worker_is_stalled(db):
    job = enqueue(db, "background", "analytics-track", EVENT)
    worker = add_worker(db, "background", silent_for="5 minutes")
    db.execute(
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
        (worker, job),
    )
    detail = only(db, job, "stalled")[1]
    assert detail.startswith(f"running, but its worker {worker} last heartbeated at ")
    assert detail.endswith("the rescue task returns it to queue background")


def _fail(db, job, errors):
    for attempt, (error_type, message) in enumerate(errors, start=1):
        db.execute(
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status,"
            " error_type, error_message, started_at)"
            " SELECT id, queue_name, task_name, %s, 'failed', %s, %s, now()"
            " FROM procrastinate_jobs WHERE id = %s",
            (attempt, error_type, message, job),
        )
    db.execute(
        "UPDATE procrastinate_jobs SET status = 'failed', attempts = %s WHERE id = %s",
        (len(errors), job),
    )


def test_explain_job_failed_with_last_error_and_attempts(db, listening):
    job = enqueue(db, "communication", "send-sms", SMS)
    _fail(
        db,
        job,
        [
            ("ProviderUnavailable", "twilio timed out"),
            ("ProviderUnavailable", "twilio timed out"),
            ("ValueError", "bad template"),
        ],
    )
    _, detail, until, _ = only(db, job, "failed")
    assert detail == "failed with ValueError: bad template after 3 attempts"
    assert until is None


def test_explain_job_retrying_shows_the_last_error(db, listening):
    job = enqueue(db, "communication", "send-sms", SMS)
    _fail(db, job, [("ProviderUnavailable", "twilio answered 503")])
    db.execute(
        "UPDATE procrastinate_jobs SET status = 'todo',"
        " scheduled_at = now() + interval '5 seconds' WHERE id = %s",
        (job,),
    )
    rows = explain(db, job)
    assert [row[0] for row in rows] == ["scheduled", "retrying"]
    assert rows[1][1] == (
        "retrying: 1 attempt of 3 failed, the last with"
        " ProviderUnavailable: twilio answered 503"
    )


@pytest.mark.parametrize("state", ["succeeded", "aborted"])
def test_explain_job_finished_after_running(db, state):
    # Claimed and completed the way a worker does: the finish time is the
    # outcome's, since no event row is written per transition.
    job = enqueue(db, "communication", "send-sms", SMS)
    worker = add_worker(db, "communication")
    claimed = db.execute(
        "SELECT id FROM queue.fetch_jobs('communication', %s, 10)", (worker,)
    ).fetchall()
    assert claimed == [(job,)]
    db.execute(
        "SELECT queue.finish_jobs(ARRAY[%s]::bigint[], ARRAY[%s]::procrastinate_job_status[],"
        " '{NULL}', '{NULL}', '{NULL}', ARRAY[now()], ARRAY[now()], ARRAY[%s]::bigint[])",
        (job, state, worker),
    )
    detail = only(db, job, state)[1]
    assert detail.startswith(f"{state} at ")
    assert detail.endswith(" ago) after 1 attempt" if state == "succeeded" else " ago)")


def test_explain_job_cancelled(db):
    job = enqueue(db, "background", "analytics-track", EVENT)
    db.execute("SELECT queue.cancel_job(%s)", (job,))
    assert only(db, job, "cancelled")[1].startswith("cancelled at ")


def test_explain_job_queue_reader_may_call_it(db, listening):
    job = enqueue(
        db, "background", "analytics-track", EVENT, run_at="2099-01-01T00:00:00Z"
    )
    db.execute("SET ROLE queue_reader")
    try:
        assert reasons(db, job) == ["scheduled"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            db.execute("SELECT count(*) FROM procrastinate_jobs")
    finally:
        db.execute("RESET ROLE")


async def test_explain_job_wrapper_returns_typed_rows(conn, db, listening):
    job = enqueue(db, "background", "analytics-track", EVENT)
    assert await explain_job(conn, job_id=job, stalled_after_s=30) == [
        ReasonRow(
            reason="waiting",
            detail="waiting: next in line in queue background (0 running)",
            until=None,
            blocking_job_id=None,
        )
    ]
    with pytest.raises(JobNotFound):
        await explain_job(conn, job_id=job + 1000, stalled_after_s=30)
