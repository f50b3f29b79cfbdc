"""The console's live feed: it follows inserts through LISTEN, reads at most once
per period however many jobs arrive or viewers watch, and reads nothing while
nobody watches."""

import asyncio

import psycopg
import pytest

from app.db.pool import create_pool
from app.services.console_feed import ConsoleFeed

BURST_JOBS = 10_000
BURST_STATEMENTS = 100


@pytest.fixture
async def pool(db_dsn):
    async with create_pool(db_dsn, min_size=1, max_size=4) as opened:
        yield opened


def _waiting(view, queue: str) -> int:
    return next(q.waiting for q in view.queues if q.queue == queue)


async def _running(feed: ConsoleFeed):
    task = asyncio.create_task(feed.run())
    await asyncio.sleep(0)
    return task


async def test_an_insert_reaches_a_viewer_before_the_refresh_period(db_dsn, pool):
    # A refresh period far longer than the wait: only the notification can wake it.
    feed = ConsoleFeed(pool, db_dsn, coalesce_s=0.1, refresh_s=60)
    task = await _running(feed)
    views = feed.views()
    try:
        first = await asyncio.wait_for(anext(views), 10)
        await asyncio.sleep(0.5)  # the LISTEN is set up
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT queue.enqueue('background', 'analytics-track', '{\"eventType\": \"x\"}')"
            )
        second = await asyncio.wait_for(anext(views), 10)
    finally:
        await views.aclose()
        task.cancel()
    assert (_waiting(first, "background"), _waiting(second, "background")) == (0, 1)


async def test_a_burst_of_jobs_and_many_viewers_cost_one_read_per_period(db_dsn, pool):
    feed = ConsoleFeed(pool, db_dsn, coalesce_s=0.5, refresh_s=60, charts_s=3600)
    task = await _running(feed)
    viewers = [feed.views() for _ in range(20)]
    try:
        await asyncio.gather(*(asyncio.wait_for(anext(v), 10) for v in viewers))
        before = feed.latest.version
        loop = asyncio.get_running_loop()
        started = loop.time()
        per_statement = BURST_JOBS // BURST_STATEMENTS

        def burst() -> None:
            with psycopg.connect(db_dsn, autocommit=True) as conn:
                for _ in range(BURST_STATEMENTS):
                    conn.execute(
                        "SELECT count(*) FROM queue.enqueue_many(%s::jsonb)",
                        (
                            "["
                            + ",".join(
                                [
                                    '{"queue": "background", "job_type": "analytics-track",'
                                    ' "data": {"eventType": "x"}}'
                                ]
                                * per_statement
                            )
                            + "]",
                        ),
                    )

        await asyncio.to_thread(burst)
        elapsed = loop.time() - started
        await asyncio.sleep(1.5)  # the last notifications are read
        reads = feed.latest.version - before
        last = feed.latest
    finally:
        for view in viewers:
            await view.aclose()
        task.cancel()
    # 100 statements, 100 notifications, 20 viewers: at most one read per
    # coalescing period of the burst (and one after it).
    assert 1 <= reads <= elapsed / 0.5 + 3, (reads, elapsed)
    assert _waiting(last, "background") == BURST_JOBS


async def test_nobody_watching_reads_nothing(db_dsn, pool):
    feed = ConsoleFeed(pool, db_dsn, coalesce_s=0.05, refresh_s=0.1)
    task = await _running(feed)
    await asyncio.sleep(1)
    task.cancel()
    assert feed.latest is None
