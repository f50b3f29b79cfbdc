"""A large job history for the console's job pages, and the job browser's times over it.

`fill_console_dataset` loads, in a scratch database, a million finished jobs
(mostly succeeded, one in fifty failed, a few cancelled and aborted) of
several types and venues, each with its outcome and its idempotency key, and
ten thousand waiting jobs, as retention would keep them: what the browser
must page through without scanning it. A rare type and a rare venue are
planted, so a filter that matches almost nothing is timed too.

`time_job_browser` times `app.services.console_jobs.browse_jobs` for each
kind of search the page offers: the median of 7 runs on one connection,
after a warm-up, so the statements are prepared as a pool's connection
prepares them; page 5 is reached by following the page's own links.
`run_console_jobs_bench` does both in a scratch database and prints the
table.
"""

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import psycopg

from app.db import Connection
from app.domain.access import Principal, Role
from app.services.console_jobs import JobFilters, JobPage, browse_jobs
from bench.scratch_db import scratch_database

RARE_TYPE = "payout-process"
RARE_VENUE = "venue-rare"
# One enqueue every two seconds: a million jobs are about 23 days of history.
STEP = timedelta(seconds=2)
# The callers whose keys are scoped ('@sub-<digest>:<key>'), as HTTP keys are.
SCOPES = 5


@dataclass(frozen=True)
class ConsoleDataset:
    """What was loaded, and values a search can look for."""

    finished: int
    waiting: int
    first_enqueued_at: datetime
    last_enqueued_at: datetime
    sample_job_id: int
    sample_key: str
    """A stored key, scope included, as the detail page shows it."""
    sample_unscoped_key: str
    """The same key as its caller sent it (without the scope)."""


_FINISHED_JOBS = """
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, status, attempts, args)
SELECT queue_name, task_name, 0, status::procrastinate_job_status,
       CASE WHEN status = 'failed' THEN max_attempts ELSE 1 END,
       jsonb_build_object(
           'data', jsonb_build_object('to', 'person' || i || '@example.com', 'amount', i %% 1000),
           'meta', jsonb_build_object(
               'enqueued_at', %(start)s::timestamptz + i * %(step)s::interval,
               'venue_id', CASE WHEN i %% 50000 = 777 THEN %(rare_venue)s ELSE 'venue-' || i %% 200 END,
               'user_id', 'user-' || i %% 5000,
               'request_id', 'req-' || i,
               'idempotency_key', CASE WHEN i %% 2 = 0
                   THEN '@sub-' || md5('caller-' || i %% %(scopes)s) || ':' || task_name || '-' || i
                   ELSE task_name || '-' || i END))
FROM (
    SELECT i,
           CASE WHEN h.status < 200 THEN 'failed'
                WHEN h.status < 210 THEN 'cancelled'
                WHEN h.status < 212 THEN 'aborted'
                ELSE 'succeeded' END AS status,
           t.name AS task_name, t.queue AS queue_name, q.max_attempts
    FROM generate_series(1, %(finished)s) AS i
    -- Two independent draws per job, in [0, 10000): its type and its state.
    CROSS JOIN LATERAL (
        SELECT (hashint4(i)::bigint + 2147483648) %% 10000 AS kind,
               (hashint4(-i)::bigint + 2147483648) %% 10000 AS status
    ) AS h
    JOIN queue.job_types AS t
      ON t.name = CASE WHEN i %% 10000 = 4321 THEN %(rare_type)s
                       WHEN h.kind < 4000 THEN 'send-email'
                       WHEN h.kind < 6000 THEN 'send-push'
                       WHEN h.kind < 8000 THEN 'analytics-track'
                       WHEN h.kind < 9000 THEN 'payment-process'
                       WHEN h.kind < 9900 THEN 'refund-process'
                       ELSE 'webhook-deliver' END
    JOIN queue.queues AS q ON q.name = t.queue
) AS s
"""

_WAITING_JOBS = """
INSERT INTO procrastinate_jobs (queue_name, task_name, priority, status, attempts, scheduled_at, args)
SELECT t.queue, t.name, 0, 'todo', 0,
       CASE WHEN i %% 10 = 0 THEN now() + interval '1 hour' END,
       jsonb_build_object(
           'data', jsonb_build_object('to', 'waiting' || i || '@example.com'),
           'meta', jsonb_build_object(
               'enqueued_at', %(start)s::timestamptz + i * interval '10 milliseconds',
               'venue_id', 'venue-' || i %% 200,
               'idempotency_key', t.name || '-waiting-' || i))
FROM generate_series(1, %(waiting)s) AS i
JOIN queue.job_types AS t
  ON t.name = (ARRAY['send-email', 'send-push', 'analytics-track', 'payment-process'])[1 + i %% 4]
"""

# Every finished job's one attempt; the failed ones with their error.
_OUTCOMES = """
INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, error_type,
                                error_message, started_at, finished_at, idempotency_key)
SELECT j.id, j.queue_name, j.task_name, j.attempts, j.status::text,
       CASE WHEN j.status <> 'succeeded' THEN 'ProviderError' END,
       CASE WHEN j.status <> 'succeeded' THEN 'the provider answered 503' END,
       (j.args -> 'meta' ->> 'enqueued_at')::timestamptz + interval '1 second',
       (j.args -> 'meta' ->> 'enqueued_at')::timestamptz + interval '2 seconds',
       j.args -> 'meta' ->> 'idempotency_key'
FROM procrastinate_jobs AS j
WHERE j.status <> 'todo'
"""

_KEYS = """
INSERT INTO queue.idempotency_keys (key, job_type, job_id, created_at)
SELECT j.args -> 'meta' ->> 'idempotency_key', j.task_name, j.id,
       (j.args -> 'meta' ->> 'enqueued_at')::timestamptz
FROM procrastinate_jobs AS j
"""


def fill_console_dataset(dsn: str, *, finished: int, waiting: int) -> ConsoleDataset:
    """Load `finished` finished jobs and `waiting` waiting ones, with outcomes and keys.

    Every table is written in one INSERT ... SELECT over generate_series (no
    per-job round trip), then vacuumed and analysed, as a database that has
    run for weeks would be.
    """
    now = datetime.now().astimezone()
    start = now - STEP * finished - timedelta(minutes=10)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            _FINISHED_JOBS,
            {
                "finished": finished,
                "start": start,
                "step": STEP,
                "rare_type": RARE_TYPE,
                "rare_venue": RARE_VENUE,
                "scopes": SCOPES,
            },
        )
        conn.execute(
            _WAITING_JOBS,
            {"waiting": waiting, "start": start + STEP * finished},
        )
        conn.execute(_OUTCOMES)
        conn.execute(_KEYS)
        conn.execute(
            "VACUUM ANALYZE procrastinate_jobs, queue.job_outcomes, queue.idempotency_keys"
        )
        # A scoped key about a third of the way down the history.
        sample = conn.execute(
            """
            SELECT id, args -> 'meta' ->> 'idempotency_key' FROM procrastinate_jobs
            WHERE id >= (SELECT min(id) FROM procrastinate_jobs) + %(offset)s
              AND args -> 'meta' ->> 'idempotency_key' LIKE '@%%'
            ORDER BY id LIMIT 1
            """,
            {"offset": 2 * finished // 3},
        ).fetchone()
    if sample is None:
        raise RuntimeError("the dataset holds no scoped key to search for")
    sample_id, sample_key = int(sample[0]), str(sample[1])
    return ConsoleDataset(
        finished=finished,
        waiting=waiting,
        first_enqueued_at=start + STEP,
        last_enqueued_at=start + STEP * finished,
        sample_job_id=sample_id,
        sample_key=sample_key,
        sample_unscoped_key=sample_key.split(":", 1)[1],
    )


def browser_cases(data: ConsoleDataset) -> dict[str, tuple[JobFilters, int]]:
    """The searches the job browser is timed with, by name: filters and page number."""
    middle = (
        data.first_enqueued_at + (data.last_enqueued_at - data.first_enqueued_at) / 2
    )
    first_pages = {
        "no filter": JobFilters(),
        "rare type": JobFilters(job_type=RARE_TYPE),
        "rare venue": JobFilters(venue=RARE_VENUE),
        "state=failed": JobFilters(state="failed"),
        "state=todo": JobFilters(state="todo"),
        "queue+failed": JobFilters(queue="money", state="failed"),
        "time range (1 h, mid-history)": JobFilters(
            since=middle, until=middle + timedelta(hours=1)
        ),
        "rare type, 3 days, mid-history": JobFilters(
            job_type=RARE_TYPE, since=middle, until=middle + timedelta(days=3)
        ),
        "every filter at once": JobFilters(
            queue="money",
            job_type="payment-process",
            state="failed",
            venue="venue-7",
            since=data.first_enqueued_at,
            until=data.last_enqueued_at,
            key="payment-process-1",
        ),
        "job id": JobFilters(job_id=data.sample_job_id),
        "key, as stored": JobFilters(key=data.sample_key),
        "key, without its scope": JobFilters(key=data.sample_unscoped_key),
    }
    cases = {name: (filters, 1) for name, filters in first_pages.items()}
    cases["no filter, page 5"] = (JobFilters(), 5)
    cases["rare type, page 5"] = (JobFilters(job_type=RARE_TYPE), 5)
    return cases


async def _turn_to(
    conn: Connection, admin: Principal, filters: JobFilters, page_number: int
) -> JobFilters:
    """Follow the Older (or Search older) link to a page; return its filters."""
    for _ in range(page_number - 1):
        page = await browse_jobs(conn, admin, filters)
        cursor = page.older or page.search_older
        if cursor is None:
            break
        filters = replace(filters, before=cursor)
    return filters


async def _time(
    dsn: str, cases: dict[str, tuple[JobFilters, int]], *, runs: int
) -> dict[str, tuple[float, JobPage]]:
    admin = Principal(sub="bench", role=Role.ADMIN)
    timings: dict[str, tuple[float, JobPage]] = {}
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for name, (first, page_number) in cases.items():
            filters = await _turn_to(conn, admin, first, page_number)
            page = await browse_jobs(conn, admin, filters)  # warm the cache and plan
            seconds = []
            for _ in range(runs):
                started = time.perf_counter()
                page = await browse_jobs(conn, admin, filters)
                seconds.append(time.perf_counter() - started)
            timings[name] = (statistics.median(seconds), page)
    return timings


def time_job_browser(
    dsn: str, data: ConsoleDataset, *, runs: int = 7
) -> dict[str, tuple[float, JobPage]]:
    """Return each case's median time of `browse_jobs` (seconds) and its page."""
    return asyncio.run(_time(dsn, browser_cases(data), runs=runs))


def print_job_browser(
    timings: dict[str, tuple[float, JobPage]], *, out: Callable[[str], None] = print
) -> None:
    """Print one line per case: time, rows, and where the next page starts."""
    out(f"{'search':<32}{'median':>10}{'rows':>6}  next page")
    for name, (seconds, page) in timings.items():
        following = (
            f"Older before {page.older}"
            if page.older
            else f"Search older below {page.search_older}"
            if page.search_older
            else "none"
        )
        out(f"{name:<32}{seconds * 1000:>8.1f} ms{len(page.jobs):>6}  {following}")


def run_console_jobs_bench(dsn: str, *, finished: int, waiting: int) -> None:
    """Time the job browser over a large history, in a scratch database."""
    with scratch_database(dsn) as scratch:
        data = fill_console_dataset(scratch, finished=finished, waiting=waiting)
        timings = time_job_browser(scratch, data)
    print(
        f"console job browser with {finished:,} finished and {waiting:,} waiting jobs "
        "(median of 7 runs):"
    )
    print_job_browser(timings)
