"""The console's workers page: every registered lane with the queues it serves,
its heartbeat (stalled ones flagged as the rescue sees them) and the jobs it
runs now, bounded per worker. Read-only."""

import asyncio
import contextlib

import psycopg
from litestar.testing import AsyncTestClient

from app.api.app import create_app
from app.settings import WorkerSettings
from tests.helpers.api import api_client
from tests.helpers.api import test_settings as settings_for
from tests.helpers.console import sign_in

STALLED_AFTER_S = 5.0


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def register_worker(dsn, queue="background") -> int:
    """Register a worker as a lane does: procrastinate's row, then its queue."""
    ((worker_id,),) = sql(dsn, "SELECT procrastinate_register_worker_v1()")
    sql(
        dsn,
        "INSERT INTO queue.worker_queues (worker_id, queue_name) VALUES (%s, %s)",
        (worker_id, queue),
    )
    return worker_id


def running_jobs(dsn, worker_id, count=1, *, started=True) -> list[int]:
    """Enqueue `count` jobs and put them in `worker_id`'s hands, as a claim does."""
    rows = sql(
        dsn,
        """SELECT (queue.enqueue('background', 'analytics-track',
                                 jsonb_build_object('eventType', 'e' || n))).job_id
           FROM generate_series(1, %s) AS n""",
        (count,),
    )
    ids = [row[0] for row in rows]
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s "
        "WHERE id = ANY(%s)",
        (worker_id, ids),
    )
    if started:
        sql(dsn, "SELECT queue.mark_jobs_started(%s, %s)", (ids, worker_id))
    return ids


def row_of(page: str, worker_id: int) -> str:
    return page.split(f'data-worker="{worker_id}"')[1].split("</tr>")[0]


@contextlib.asynccontextmanager
async def client_stalling_after(dsn, seconds: float):
    """The API with WORKER_STALLED_AFTER_S set, as a deployment sets it."""
    settings = settings_for(dsn).model_copy(
        update={"worker": WorkerSettings(stalled_after_s=seconds)}
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        yield client


async def wait_for_server_uptime(dsn, seconds: float) -> None:
    # A worker is stalled only after a silence while the database was up
    # (queue.worker_stalled): a server started moments ago stalls no one yet.
    for _ in range(int(seconds * 10) + 20):
        ((uptime,),) = sql(
            dsn, "SELECT extract(epoch FROM now() - pg_postmaster_start_time())"
        )
        if uptime > seconds + 1:
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the server's uptime did not grow")


async def test_the_page_shows_each_worker_its_queue_and_what_it_runs(db_dsn):
    busy = register_worker(db_dsn, "background")
    idle = register_worker(db_dsn, "money")
    started, claimed = (
        running_jobs(db_dsn, busy),
        running_jobs(db_dsn, busy, started=False),
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/workers")).text
    assert page.index(f'data-worker="{busy}"') < page.index(f'data-worker="{idle}"')
    row = row_of(page, busy)
    assert 'data-field="queues">background<' in row
    assert 'data-field="running">2<' in row
    assert '<span class="badge alive">alive</span>' in row
    assert f'<a href="/console/jobs/{started[0]}">{started[0]}</a>' in row
    assert f'<a href="/console/jobs/{claimed[0]}">{claimed[0]}</a>' in row
    assert "analytics-track" in row
    first, second = row.split(f'data-job="{claimed[0]}"')
    assert "started 20" in first.split(f'data-job="{started[0]}"')[1]
    assert "claimed, not started" in second
    idle_row = row_of(page, idle)
    assert 'data-field="queues">money<' in idle_row
    assert 'data-field="running">0<' in idle_row and "idle" in idle_row


async def test_a_worker_silent_too_long_is_flagged_stalled(db_dsn):
    await wait_for_server_uptime(db_dsn, STALLED_AFTER_S)
    silent = register_worker(db_dsn)
    alive = register_worker(db_dsn)
    sql(
        db_dsn,
        "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
        "WHERE id = %s",
        (silent,),
    )
    async with client_stalling_after(db_dsn, STALLED_AFTER_S) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/workers")).text
    row = row_of(page, silent)
    assert row.startswith(' class="stalled">')
    age = row.split('data-field="heartbeat-age">')[1].split("</td>")[0]
    assert "60 min" in age and 'data-field="stalled">stalled<' in age
    assert "stalled" not in row_of(page, alive)
    assert "silent for 5 s" in " ".join(page.split())  # the setting applied


async def test_running_jobs_are_bounded_per_worker_with_a_count(db_dsn):
    worker = register_worker(db_dsn)
    ids = running_jobs(db_dsn, worker, 25)
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/workers")).text
    row = row_of(page, worker)
    assert row.count("data-job=") == 20
    assert all(f'data-job="{job}"' in row for job in ids[:20])  # oldest claims
    assert f'data-job="{ids[20]}"' not in row
    assert 'data-field="running">25<' in row
    assert 'data-field="more-jobs">and 5 more<' in row


async def test_a_worker_without_a_recorded_queue_is_shown(db_dsn):
    # A lane records its queue right after registering: between the two, or
    # for a worker registered by procrastinate alone, there is none yet.
    ((worker,),) = sql(db_dsn, "SELECT procrastinate_register_worker_v1()")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = (await client.get("/console/workers")).text
    assert "none recorded yet" in row_of(page, worker)


async def test_the_page_is_read_only_for_every_role(db_dsn):
    register_worker(db_dsn)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        admin = (await client.get("/console/workers")).text
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        monitoring = (await client.get("/console/workers")).text
    for page in (admin, monitoring):
        main = page.split("<main>")[1]
        assert "<form" not in main and "<button" not in main


async def test_no_workers_says_how_to_start_one(db_dsn):
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/workers")).text
    assert "No worker is registered" in page


async def test_hostile_worker_text_is_escaped(db_dsn):
    # Neither the task name of a job row nor a recorded queue name has a
    # foreign key: whatever reached the tables is shown as text.
    worker = register_worker(db_dsn, "<script>alert('queue')</script>")
    sql(
        db_dsn,
        """INSERT INTO procrastinate_jobs (queue_name, task_name, status, worker_id, args)
           VALUES ('background', '<script>alert(''task'')</script>', 'doing', %s, '{}')""",
        (worker,),
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = (await client.get("/console/workers")).text
    row = row_of(page, worker)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;queue&#39;)&lt;/script&gt;" in row
    assert "&lt;script&gt;alert(&#39;task&#39;)&lt;/script&gt;" in row


async def test_a_running_job_shows_the_progress_its_task_reported(db_dsn):
    worker = register_worker(db_dsn)
    [job] = running_jobs(db_dsn, worker)
    sql(db_dsn, "SELECT queue.report_progress(%s, 62.5, 'rows written')", (job,))
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/workers")).text
    assert 'data-field="progress">62% rows written<' in row_of(page, worker)
