"""One admission rule: the gate, explain_job and the API's check agree, state by state."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.services import rate_limits

SMS = {"to": "+14155550100", "message": "Doors open at 7", "template": "doors"}

# Each state of the twilio-sms bucket, its group (twilio) or the twilio breaker,
# with what the gate says, the reason explain_job gives, and the check's words.
STATES = {
    "breaker_open": (
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 3, "
        "retry_at = now() + interval '1 minute' WHERE provider = 'twilio'",
        "breaker_open",
        "the twilio circuit breaker is open",
    ),
    "stopped": (
        "UPDATE queue.rate_limits SET paused = true WHERE name = 'twilio-sms'",
        "rate_limited",
        "twilio-sms is stopped (emergency stop)",
    ),
    "held": (
        "UPDATE queue.rate_limits SET hold_until = now() + interval '1 minute', "
        "refilled_at = now() + interval '1 minute' WHERE name = 'twilio'",
        "rate_limited",
        "twilio is held by the provider's Retry-After",
    ),
    "concurrency": (
        "INSERT INTO queue.rate_limit_leases (bucket, expires_at) "
        "SELECT 'twilio', now() + interval '1 minute' FROM generate_series(1, 5)",
        "rate_limited",
        "twilio has 5 calls in flight (max 5)",
    ),
    "tokens": (
        "UPDATE queue.rate_limits SET tokens = 0, refilled_at = now() WHERE name = 'twilio'",
        "rate_limited",
        "twilio has no token",
    ),
}


@pytest.fixture
def db(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.mark.parametrize("verdict", list(STATES))
async def test_gate_explain_and_check_give_the_same_verdict(db, conn, verdict):
    setup, reason, worded = STATES[verdict]
    (job_id,) = db.execute(
        "SELECT job_id FROM queue.enqueue('communication', 'send-sms', %s)",
        (Jsonb(SMS),),
    ).fetchone()
    db.execute(setup)

    gate = db.execute(
        "SELECT verdict, breaker FROM queue.begin_provider_call("
        "'twilio-sms', 'twilio', %s, 'sms-key:send', 'send', 'f', 30)",
        (job_id,),
    ).fetchone()
    explained = [
        row[0]
        for row in db.execute("SELECT reason FROM queue.explain_job(%s)", (job_id,))
    ]
    _, checked = await rate_limits.check(conn, "twilio-sms")

    assert gate == (verdict, "twilio")
    assert reason in explained
    assert (checked.allowed, checked.reason) == (False, worded)


async def test_gate_explain_and_check_all_admit_an_idle_bucket(db, conn):
    (job_id,) = db.execute(
        "SELECT job_id FROM queue.enqueue('communication', 'send-sms', %s)",
        (Jsonb(SMS),),
    ).fetchone()

    explained = [
        row[0]
        for row in db.execute("SELECT reason FROM queue.explain_job(%s)", (job_id,))
    ]
    _, checked = await rate_limits.check(conn, "twilio-sms")
    gate = db.execute(
        "SELECT verdict FROM queue.begin_provider_call("
        "'twilio-sms', 'twilio', %s, 'sms-key:send', 'send', 'f', 30)",
        (job_id,),
    ).fetchone()

    assert not {"rate_limited", "breaker_open"} & set(explained)
    assert checked.allowed
    assert gate == ("go",)


@pytest.mark.parametrize(
    ("provider", "subject", "breaker"),
    [
        ("webhook", "https://Hooks.Example.com/path?x=1", "webhook:hooks.example.com"),
        ("webhook", "http://user:pw@127.0.0.1:8080/hook", "webhook:127.0.0.1"),
        ("webhook", "http://[::1]:9000/hook", "webhook:[::1]"),
        ("webhook", "not a url", "webhook"),
        ("webhook", None, "webhook"),
        ("webhook:127.0.0.1", None, "webhook:127.0.0.1"),
        ("stripe", "https://ignored.example/", "stripe"),
    ],
)
def test_breaker_name_gives_webhooks_one_breaker_per_host(
    db, provider, subject, breaker
):
    assert db.execute(
        "SELECT queue.breaker_name(%s, %s)", (provider, subject)
    ).fetchone() == (breaker,)


def test_bucket_tokens_refill_at_the_rate_up_to_the_burst(db):
    db.execute(
        "UPDATE queue.rate_limits SET tokens = 0, refilled_at = now() - interval '2 seconds' "
        "WHERE name = 'twilio'"
    )
    # twilio: 1 token a second, burst 10.
    two, capped = db.execute(
        "SELECT queue.bucket_tokens(r, now()), queue.bucket_tokens(r, now() + interval '1 hour') "
        "FROM queue.rate_limits AS r WHERE name = 'twilio'"
    ).fetchone()
    assert two == pytest.approx(2, abs=0.01)
    assert capped == 10


def _xmin(db, provider):
    return db.execute(
        "SELECT xmin::text FROM queue.circuit_breakers WHERE provider = %s", (provider,)
    ).fetchone()


def test_a_healthy_call_neither_locks_nor_writes_its_breaker(db, db_dsn):
    (job_id,) = db.execute(
        "SELECT job_id FROM queue.enqueue('communication', 'send-sms', %s)",
        (Jsonb(SMS),),
    ).fetchone()
    before = _xmin(db, "twilio")
    with psycopg.connect(db_dsn) as holder:
        # Another transaction holds the breaker row: a call must not wait for it.
        holder.execute(
            "SELECT 1 FROM queue.circuit_breakers WHERE provider = 'twilio' FOR UPDATE"
        )
        db.execute("SET lock_timeout = '1s'")
        verdict, leases = db.execute(
            "SELECT verdict, lease_ids FROM queue.begin_provider_call("
            "'twilio-sms', 'twilio', %s, 'sms-key:send', 'send', 'f', 30)",
            (job_id,),
        ).fetchone()
        state = db.execute(
            "SELECT queue.end_provider_call(%s, 'twilio-sms', 'twilio', 'sms-key:send', "
            "'succeeded', '{}'::jsonb, NULL, NULL)",
            (leases,),
        ).fetchone()
        holder.rollback()

    assert (verdict, state) == ("go", ("closed",))
    assert _xmin(db, "twilio") == before


def test_a_failed_call_still_moves_its_breaker(db):
    (job_id,) = db.execute(
        "SELECT job_id FROM queue.enqueue('communication', 'send-sms', %s)",
        (Jsonb(SMS),),
    ).fetchone()
    (leases,) = db.execute(
        "SELECT lease_ids FROM queue.begin_provider_call("
        "'twilio-sms', 'twilio', %s, 'sms-key:send', 'send', 'f', 30)",
        (job_id,),
    ).fetchone()
    db.execute(
        "SELECT queue.end_provider_call(%s, 'twilio-sms', 'twilio', 'sms-key:send', "
        "'unavailable', NULL, 'HTTP 503', NULL)",
        (leases,),
    )
    assert db.execute(
        "SELECT failures, last_error FROM queue.circuit_breakers WHERE provider = 'twilio'"
    ).fetchone() == (1, "HTTP 503")
