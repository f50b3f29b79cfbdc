"""Buckets slow down when a provider answers 429, for every process, and recover."""

import psycopg
import pytest


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def rate_limited(dsn, bucket, retry_after_s=None):
    sql(
        dsn,
        "SELECT queue.end_provider_call(ARRAY[]::bigint[], %s, %s, 'no-ledger-row',"
        " 'rate_limited', NULL, 'HTTP 429', %s)",
        (bucket, bucket, retry_after_s),
    )


def rate_in(dsn, bucket, seconds):
    """The bucket's rate `seconds` after its last 429 (as any process reads it)."""
    ((rate,),) = sql(
        dsn,
        "SELECT queue.bucket_rate(r, r.slowed_at + make_interval(secs => %s))"
        " FROM queue.rate_limits AS r WHERE r.name = %s",
        (seconds, bucket),
    )
    return rate


def test_a_429_halves_the_rate_and_it_recovers_over_recover_s(db_dsn):
    rate_limited(db_dsn, "sendgrid")

    assert rate_in(db_dsn, "sendgrid", 0) == pytest.approx(2.5)
    assert rate_in(db_dsn, "sendgrid", 30) == pytest.approx(3.75)
    assert rate_in(db_dsn, "sendgrid", 60) == pytest.approx(5.0)
    assert rate_in(db_dsn, "sendgrid", 600) == pytest.approx(5.0)
    # Seen through the status view and the API's query by any process.
    ((effective,),) = sql(
        db_dsn,
        "SELECT effective_rate_per_s FROM queue.rate_limit_status WHERE name = 'sendgrid'",
    )
    assert 2.5 <= effective < 2.7


def test_repeated_429s_slow_it_further_but_never_below_a_tenth(db_dsn):
    rate_limited(db_dsn, "stripe")
    rate_limited(db_dsn, "stripe")
    assert rate_in(db_dsn, "stripe", 0) == pytest.approx(25 / 4, rel=0.01)
    for _ in range(10):
        rate_limited(db_dsn, "stripe")
    assert rate_in(db_dsn, "stripe", 0) == pytest.approx(2.5)


def test_a_429_slows_the_bucket_and_its_group(db_dsn):
    rate_limited(db_dsn, "twilio-sms")

    assert rate_in(db_dsn, "twilio-sms", 0) == pytest.approx(0.5)
    assert rate_in(db_dsn, "twilio", 0) == pytest.approx(0.5)
    # Its sibling keeps its own rate: the group is where they meet.
    assert sql(
        db_dsn, "SELECT slowed_at FROM queue.rate_limits WHERE name = 'twilio-voice'"
    ) == [(None,)]


def test_tokens_refill_at_the_slowed_rate_after_the_hold(db_dsn):
    rate_limited(db_dsn, "sendgrid", retry_after_s=1)
    # From the end of the hold: 2 s at a rate going from 2.5 + a bit to more.
    ((tokens, hold_ends_at_rate, later_rate),) = sql(
        db_dsn,
        "SELECT queue.bucket_tokens(r, r.hold_until + interval '2 seconds'),"
        " queue.bucket_rate(r, r.hold_until), queue.bucket_rate(r, r.hold_until + interval '2 seconds')"
        " FROM queue.rate_limits AS r WHERE r.name = 'sendgrid'",
    )
    assert tokens == pytest.approx((hold_ends_at_rate + later_rate) / 2 * 2)
    assert 5.0 < tokens < 6.0  # not the 10 the full rate would have given


def test_the_gate_waits_for_a_token_at_the_slowed_rate(db_dsn):
    rate_limited(db_dsn, "sendgrid", retry_after_s=0.001)
    sql(
        db_dsn, "UPDATE queue.rate_limits SET hold_until = NULL WHERE name = 'sendgrid'"
    )

    ((verdict, wait_s),) = sql(
        db_dsn,
        "SELECT a.verdict, a.wait_s FROM queue.admission('sendgrid', 'sendgrid', clock_timestamp()) AS a"
        " WHERE a.subject = 'sendgrid' AND a.tokens IS NOT NULL",
    )
    assert verdict == "tokens"
    # One token at about 2.5 per second, not 5.
    assert 0.3 < wait_s <= 0.41


def test_the_old_tables_buckets_and_cooldowns_are_seeded(db_dsn):
    rows = sql(
        db_dsn,
        "SELECT name, group_name, rate_per_s, burst, max_concurrent, cooldown_s"
        " FROM queue.rate_limits ORDER BY name",
    )
    assert rows == [
        ("internal", None, 100, 200, 50, 0.1),
        ("minting", None, 10, 30, 5, 1),
        ("quickbooks", None, 2, 10, 3, 3),
        ("sendgrid", None, 5, 100, 20, 1),
        ("square", None, 8, 20, 5, 2),
        ("stripe", None, 25, 50, 10, 1),
        ("twilio", None, 1, 10, 5, 5),
        ("twilio-sms", "twilio", 1, 10, 5, 5),
        ("twilio-verify", "twilio", 1, 10, 5, 5),
        ("twilio-voice", "twilio", 1, 10, 5, 5),
    ]
