"""Hourly rollups: long-window reports read them, and give the raw tables' answers."""

import itertools
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from app.db.pool import create_pool
from app.services import metrics

HISTORY_SQL = """
INSERT INTO queue.job_outcomes (
    job_id, queue_name, job_type, attempt, status, error_type, error_message,
    started_at, finished_at
)
SELECT i, (ARRAY['money', 'communication', 'background'])[1 + i % 3],
       (ARRAY['payment-process', 'send-sms', 'analytics-track'])[1 + i % 3], 1,
       CASE WHEN i % 7 = 0 THEN 'failed' WHEN i % 5 = 0 THEN 'retried' ELSE 'succeeded' END,
       CASE WHEN i % 7 = 0 OR i % 5 = 0 THEN 'E' || (i % 3) END,
       CASE WHEN i % 7 = 0 OR i % 5 = 0 THEN 'went wrong ' || (i % 2) END,
       now() - i * interval '37 seconds', now() - i * interval '37 seconds'
FROM generate_series(1, 2000) AS i;
INSERT INTO queue.queue_metrics (
    queue_name, captured_at, waiting, scheduled, running, succeeded_last_hour,
    failed_last_hour, oldest_waiting_age_s
)
SELECT q, now() - i * interval '30 seconds', (i * 7919) % 500, 0, i % 9, 0, i % 13, i % 600
FROM generate_series(0, 2400) AS i CROSS JOIN unnest(ARRAY['money', 'background']) AS q;
"""


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture
async def pool(db_dsn):
    sql(db_dsn, HISTORY_SQL)
    async with create_pool(db_dsn, min_size=1, max_size=2) as opened:
        yield opened


async def reports(pool, hours):
    async with pool.connection() as conn:
        summary = await metrics.summary(conn, hours=hours)
        failures = await metrics.failures(conn, hours=hours)
    return (
        sorted((o.queue, o.status, o.attempts) for o in summary.outcomes),
        [
            (p.queue, p.hour, p.waiting, p.running, p.failed_last_hour)
            for p in summary.trend
        ],
        sorted((f.queue, f.job_type, f.failed, f.retried) for f in failures.by_type),
        sorted((e.error_type, e.message, e.occurrences) for e in failures.top_errors),
        [(h.hour, h.failed) for h in failures.per_hour],
    )


async def test_rollups_give_the_raw_answers_for_any_window(pool, db_dsn):
    raw = {hours: await reports(pool, hours) for hours in (1, 3, 10, 24)}

    rolled = sql(db_dsn, "SELECT queue.roll_up_hours(100)")[0][0]

    assert rolled >= 18  # 2000 outcomes 37 s apart: about 20 complete hours
    assert sql(db_dsn, "SELECT count(*) FROM queue.outcome_hours")[0][0] > 0
    for hours, expected in raw.items():
        assert await reports(pool, hours) == expected, f"window of {hours} h"


async def test_rollups_outlive_deleted_outcomes(pool, db_dsn):
    sql(db_dsn, "SELECT queue.roll_up_hours(100)")
    (last_rolled,) = sql(db_dsn, "SELECT max(hour) FROM queue.rolled_up_hours")[0]
    before = await reports(pool, 24)

    # Retention deleted the outcomes of finished jobs; the rolled hours keep them.
    sql(db_dsn, "DELETE FROM queue.job_outcomes WHERE finished_at < %s", (last_rolled,))

    after = await reports(pool, 24)
    assert after[0] == before[0] and after[2] == before[2]


async def test_rollups_continue_where_they_stopped(db_dsn, pool):
    first = sql(db_dsn, "SELECT queue.roll_up_hours(5)")[0][0]
    rest = sql(db_dsn, "SELECT queue.roll_up_hours(100)")[0][0]
    again = sql(db_dsn, "SELECT queue.roll_up_hours(100)")[0][0]

    hours = [
        h for (h,) in sql(db_dsn, "SELECT hour FROM queue.rolled_up_hours ORDER BY 1")
    ]
    assert (first, again) == (5, 0) and rest > 0
    assert all(b - a == timedelta(hours=1) for a, b in itertools.pairwise(hours))
    # The current hour (and the last one, within its 5-minute grace) stay raw.
    assert hours[-1] < datetime.now(UTC) - timedelta(hours=1)
