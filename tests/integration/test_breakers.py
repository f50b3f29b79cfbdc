"""Circuit breakers that recover gracefully: counting, probes, parked jobs."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.db.queries.providers import (
    CallEnd,
    CallStart,
    begin_provider_calls,
    end_provider_calls,
)
from tests.helpers.workers import query

HOST_A = "https://a.example.com/hooks"
HOST_B = "https://b.example.com/hooks"


@pytest.fixture
async def conn(db_dsn):
    query(
        db_dsn,
        "UPDATE queue.circuit_breakers SET failure_threshold = 3, open_s = 30",
    )
    query(
        db_dsn,
        "UPDATE queue.rate_limits SET rate_per_s = 10, burst = 1000, tokens = 1000,"
        " max_concurrent = NULL WHERE name IN ('stripe', 'internal')",
    )
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as c:
        yield c


async def begin(conn, key, *, provider="stripe", bucket="stripe", subject=None):
    (begun,) = await begin_provider_calls(
        conn,
        calls=[
            CallStart(
                bucket=bucket,
                provider=provider,
                job_id=1,
                ledger_key=key,
                step="send",
                fingerprint="f",
                subject=subject,
            )
        ],
        lease_s=60,
    )
    return begun


async def end(conn, begun, key, outcome, *, bucket="stripe"):
    (state,) = await end_provider_calls(
        conn,
        calls=[
            CallEnd(
                lease_ids=begun.lease_ids,
                bucket=bucket,
                provider=begun.breaker,
                ledger_key=key,
                outcome=outcome,
                response={"ok": True} if outcome == "succeeded" else None,
                error=None if outcome == "succeeded" else "HTTP 503",
                retry_after_s=None,
            )
        ],
    )
    return state


async def open_then_due(conn, dsn):
    """Open the stripe breaker with three failures, then make it due to half-open."""
    for i in range(3):
        await end(conn, await begin(conn, f"k{i}"), f"k{i}", "unavailable")
    query(
        dsn,
        "UPDATE queue.circuit_breakers SET retry_at = now() WHERE provider = 'stripe'",
    )


def breaker(dsn, name="stripe"):
    return query(
        dsn,
        "SELECT state, failures, retry_at FROM queue.circuit_breakers WHERE provider = %s",
        (name,),
    )[0]


async def test_calls_out_when_the_breaker_opened_do_not_count_again(conn, db_dsn):
    # Eight calls go out while it is closed; they all fail.
    begun = [await begin(conn, f"k{i}") for i in range(8)]
    assert {b.verdict for b in begun} == {"go"}
    states = [await end(conn, b, f"k{i}", "unavailable") for i, b in enumerate(begun)]
    assert states == [
        "closed",
        "closed",
        "open",
        "open",
        "open",
        "open",
        "open",
        "open",
    ]
    state, failures, _ = breaker(db_dsn)
    # The threshold's three, not eight; the open period counts from the third.
    assert (state, failures) == ("open", 3)
    opened_for = query(
        db_dsn,
        "SELECT retry_at - opened_at FROM queue.circuit_breakers WHERE provider = 'stripe'",
    )[0][0]
    assert opened_for.total_seconds() == 30


async def test_only_the_probe_moves_a_half_open_breaker(conn, db_dsn):
    straggler = await begin(conn, "straggler")
    await open_then_due(conn, db_dsn)
    probe = await begin(conn, "probe")
    assert (probe.verdict, probe.breaker_state) == ("go", "half_open")
    # With the probe out, others are turned away.
    assert (await begin(conn, "other")).verdict == "breaker_open"
    # A call that was out before the breaker opened fails now: the probe is
    # still out, the breaker stays half-open.
    assert await end(conn, straggler, "straggler", "unavailable") == "half_open"
    assert await end(conn, probe, "probe", "succeeded") == "closed"
    assert breaker(db_dsn)[:2] == ("closed", 0)


async def test_a_failed_probe_opens_the_breaker_again(conn, db_dsn):
    await open_then_due(conn, db_dsn)
    probe = await begin(conn, "probe")
    assert await end(conn, probe, "probe", "unavailable") == "open"


def enqueue_hooks(dsn, url, count):
    return [
        row[0]
        for row in query(
            dsn,
            "SELECT job_id FROM queue.enqueue_many(%s)",
            (
                Jsonb(
                    [
                        {
                            "queue": "communication",
                            "job_type": "webhook-deliver",
                            "data": {
                                "url": url,
                                "eventId": f"evt-{n}",
                                "event": "order.paid",
                                "payload": {"n": n},
                            },
                        }
                        for n in range(count)
                    ]
                ),
            ),
        )
    ]


async def test_an_opening_breaker_parks_its_waiting_jobs_spread_at_the_providers_rate(
    conn, db_dsn
):
    a_jobs = enqueue_hooks(db_dsn, HOST_A, 40)
    b_jobs = enqueue_hooks(db_dsn, HOST_B, 5)
    for i in range(3):
        key = f"hook-{i}"
        begun = await begin(
            conn, key, provider="webhook", bucket="internal", subject=HOST_A
        )
        assert begun.breaker == "webhook:a.example.com"
        await end(conn, begun, key, "unavailable", bucket="internal")
    _, _, retry_at = breaker(db_dsn, "webhook:a.example.com")

    parked = query(
        db_dsn,
        "SELECT extract(epoch FROM scheduled_at - %s) FROM procrastinate_jobs"
        " WHERE id = ANY(%s) ORDER BY scheduled_at",
        (retry_at, a_jobs),
    )
    offsets = [float(row[0]) for row in parked]
    # From the half-open time on, one after another at 10 per second, each
    # within its own tenth of a second.
    assert len(offsets) == 40
    for place, offset in enumerate(offsets):
        assert place / 10 <= offset < (place + 1) / 10
    # The other subscriber's jobs are not held back.
    assert query(
        db_dsn,
        "SELECT count(*) FROM procrastinate_jobs WHERE id = ANY(%s) AND scheduled_at IS NULL",
        (b_jobs,),
    ) == [(5,)]


async def test_a_job_turned_away_by_an_open_breaker_leaves_no_outcome_row(db_dsn):
    job_id = query(
        db_dsn,
        "SELECT job_id FROM queue.enqueue('communication', 'send-email',"
        ' \'{"to": "a@example.com", "subject": "s", "content": "b"}\'::jsonb)',
    )[0][0]
    query(
        db_dsn,
        "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s",
        (job_id,),
    )
    status = query(
        db_dsn,
        "SELECT queue.requeue_job(%s, now() + interval '10 seconds', false, NULL, 'JobDeferred',"
        " 'the sendgrid circuit breaker is open', now(), now())",
        (job_id,),
    )
    assert status == [("todo",)]
    assert query(
        db_dsn, "SELECT count(*) FROM queue.job_outcomes WHERE job_id = %s", (job_id,)
    ) == [(0,)]
