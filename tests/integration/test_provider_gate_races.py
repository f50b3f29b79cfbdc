"""The provider gate under racing callers: each on its own connection, at once."""

import asyncio

import psycopg

from app.db.queries.providers import CallStart, begin_provider_calls


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


async def race(dsn, callers, *, bucket, provider):
    conns = [
        await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        for _ in range(callers)
    ]
    try:
        start = asyncio.Event()

        async def one(index, conn):
            await start.wait()
            (begun,) = await begin_provider_calls(
                conn,
                calls=[
                    CallStart(
                        bucket=bucket,
                        provider=provider,
                        job_id=index,
                        ledger_key=f"race-{index}:send",
                        step="send",
                        fingerprint="f",
                    )
                ],
                lease_s=60,
            )
            return begun

        calls = [asyncio.create_task(one(i, c)) for i, c in enumerate(conns)]
        await asyncio.sleep(0.05)
        start.set()
        return await asyncio.gather(*calls)
    finally:
        for conn in conns:
            await conn.close()


async def test_racing_callers_never_exceed_max_concurrent(db_dsn):
    callers = 20
    # Plenty of tokens: only the five concurrency slots of minting limit.
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET burst = 100, tokens = 100 WHERE name = 'minting'",
    )

    begun = await race(db_dsn, callers, bucket="minting", provider="minting")

    verdicts = sorted(b.verdict for b in begun)
    assert verdicts.count("go") == 5
    assert verdicts.count("concurrency") == callers - 5
    assert sql(db_dsn, "SELECT count(*) FROM queue.rate_limit_leases") == [(5,)]


async def test_racing_callers_share_the_tokens_of_bucket_and_group(db_dsn):
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 3, refilled_at = now(), rate_per_s = 0.01, "
        "max_concurrent = NULL WHERE name IN ('twilio', 'twilio-sms', 'twilio-voice')",
    )

    sms = await race(db_dsn, 10, bucket="twilio-sms", provider="twilio")
    # The group had 3 tokens: the voice bucket finds none left, whatever its own.
    voice = await race(db_dsn, 1, bucket="twilio-voice", provider="twilio")

    assert sorted(b.verdict for b in sms).count("go") == 3
    assert [b.verdict for b in voice] == ["tokens"]


async def test_racing_callers_send_one_probe_through_a_half_open_breaker(db_dsn):
    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5, "
        "retry_at = now() - interval '1 second' WHERE provider = 'stripe'",
    )

    begun = await race(db_dsn, 12, bucket="stripe", provider="stripe")

    verdicts = [b.verdict for b in begun]
    assert verdicts.count("go") == 1  # the probe
    assert verdicts.count("breaker_open") == 11
    assert sql(
        db_dsn, "SELECT state FROM queue.circuit_breakers WHERE provider = 'stripe'"
    ) == [("half_open",)]


async def race_batches(dsn, batches, size, *, bucket, provider):
    # What worker processes' group commits do: each sends its calls in one
    # statement, all at once.
    conns = [
        await psycopg.AsyncConnection.connect(dsn, autocommit=True)
        for _ in range(batches)
    ]
    try:
        start = asyncio.Event()

        async def one(batch, conn):
            await start.wait()
            calls = [
                CallStart(
                    bucket=bucket,
                    provider=provider,
                    job_id=batch * size + i,
                    ledger_key=f"batch-{batch}-{i}:send",
                    step="send",
                    fingerprint="f",
                )
                for i in range(size)
            ]
            return await begin_provider_calls(conn, calls=calls, lease_s=60)

        tasks = [asyncio.create_task(one(b, c)) for b, c in enumerate(conns)]
        await asyncio.sleep(0.05)
        start.set()
        return [begun for batch in await asyncio.gather(*tasks) for begun in batch]
    finally:
        for conn in conns:
            await conn.close()


async def test_racing_batches_never_exceed_max_concurrent(db_dsn):
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET burst = 100, tokens = 100 WHERE name = 'minting'",
    )

    begun = await race_batches(db_dsn, 4, 10, bucket="minting", provider="minting")

    verdicts = [b.verdict for b in begun]
    assert verdicts.count("go") == 5
    assert verdicts.count("concurrency") == 35
    assert sql(db_dsn, "SELECT count(*) FROM queue.rate_limit_leases") == [(5,)]


async def test_racing_batches_take_no_more_tokens_than_the_bucket_holds(db_dsn):
    # 7 tokens, refilling at one a minute, for 40 calls in 4 batches: 7 go.
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET burst = 7, tokens = 7, rate_per_s = 1.0 / 60,"
        " max_concurrent = NULL, refilled_at = now() WHERE name = 'minting'",
    )

    begun = await race_batches(db_dsn, 4, 10, bucket="minting", provider="minting")

    verdicts = [b.verdict for b in begun]
    assert verdicts.count("go") == 7
    assert verdicts.count("tokens") == 33
