"""A running job's progress: what its task reports, who may write it, where it
shows (the API, queue.jobs, the console) and when it goes."""

import json
import time

import procrastinate
import psycopg
import pytest
from procrastinate.job_context import JobContext
from procrastinate.jobs import Job
from procrastinate.testing import InMemoryConnector

from tests.helpers.api import api_client, auth
from tests.helpers.console import sign_in
from tests.helpers.perform import close_deps, open_deps, perform
from workers import progress
from workers.deps import DEPS_KEY
from workers.tasks.background import generate_report


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def report_job(dsn, *, running=True) -> int:
    [(job_id,)] = sql(
        dsn,
        "SELECT job_id FROM queue.enqueue('background', 'generate-report', %s)",
        (json.dumps({"reportType": "throughput", "format": "json"}),),
    )
    if running:
        sql(
            dsn,
            "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s",
            (job_id,),
        )
    return job_id


@pytest.fixture
async def deps(db_dsn, tmp_path):
    opened = await open_deps(db_dsn, tmp_path / "reports")
    yield opened
    await close_deps(opened)


async def test_a_report_s_task_says_how_far_it_is_and_the_api_shows_it(deps, db_dsn):
    job_id = report_job(db_dsn)
    await perform(
        generate_report,
        deps,
        data={"reportType": "throughput", "format": "json"},
        job_id=job_id,
        job_type="generate-report",
    )
    async with api_client(db_dsn) as client:
        shown = await client.get(f"/api/v1/queue/jobs/{job_id}", headers=auth("admin"))
    body = shown.json()
    # Still running here (perform does not complete it): the task's own word.
    assert (body["progress"], body["progressMessage"]) == (100, "wrote 0 rows")
    assert body["progressAt"] is not None
    assert sql(
        db_dsn,
        "SELECT progress_percent, progress_message FROM queue.jobs WHERE id = %s",
        (job_id,),
    ) == [(100.0, "wrote 0 rows")]


async def test_reports_are_written_at_most_once_a_second_but_100_always(deps, db_dsn):
    job_id = report_job(db_dsn)
    context = _context(deps, job_id)
    first = await progress.report_progress(context, 10, "one")
    second = await progress.report_progress(context, 20, "two")
    done = await progress.report_progress(context, 100, "done")
    assert (first, second, done) == (True, False, True)
    assert sql(
        db_dsn,
        "SELECT percent, message FROM queue.job_progress WHERE job_id = %s",
        (job_id,),
    ) == [(100.0, "done")]


async def test_a_job_that_is_not_running_cannot_report(deps, db_dsn):
    waiting = report_job(db_dsn, running=False)
    assert await progress.report_progress(_context(deps, waiting), 50, "early") is False
    assert sql(db_dsn, "SELECT count(*) FROM queue.job_progress") == [(0,)]


@pytest.mark.parametrize("percent", [-1, 100.5, float("nan")])
async def test_a_percent_outside_0_to_100_is_refused(deps, db_dsn, percent):
    job_id = report_job(db_dsn)
    with pytest.raises(ValueError, match="percent from 0 to 100"):
        await progress.report_progress(_context(deps, job_id), percent)
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        sql(db_dsn, "SELECT queue.report_progress(%s, 101, 'x')", (job_id,))


async def test_a_hostile_message_is_cut_cleaned_and_escaped(deps, db_dsn):
    job_id = report_job(db_dsn)
    message = "<script>x</script>\x00" + "m" * 500
    await progress.report_progress(_context(deps, job_id), 40, message)
    [(stored,)] = sql(
        db_dsn, "SELECT message FROM queue.job_progress WHERE job_id = %s", (job_id,)
    )
    assert stored.startswith("<script>x</script>\ufffd") and len(stored) == 200
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get(f"/console/jobs/{job_id}")
    assert 'data-field="progress-percent">40%<' in page.text
    assert "&lt;script&gt;x" in page.text and "<script>x" not in page.text


async def test_retention_forgets_the_progress_of_jobs_that_are_gone(db_dsn):
    gone = report_job(db_dsn)
    kept = report_job(db_dsn)
    for job_id in (gone, kept):
        sql(db_dsn, "SELECT queue.report_progress(%s, 30, 'x')", (job_id,))
    sql(db_dsn, "UPDATE queue.job_progress SET updated_at = now() - interval '2 days'")
    sql(db_dsn, "DELETE FROM procrastinate_jobs WHERE id = %s", (gone,))
    counts = dict(sql(db_dsn, "SELECT * FROM queue.run_retention()"))
    assert counts["job_progress"] == 1
    assert sql(db_dsn, "SELECT job_id FROM queue.job_progress") == [(kept,)]


def _context(deps, job_id):
    # A running job's context, as the worker hands it to the task.
    job = Job(
        id=job_id,
        queue="background",
        lock=None,
        queueing_lock=None,
        task_name="generate-report",
        task_kwargs={},
    )
    return JobContext(
        app=procrastinate.App(connector=InMemoryConnector()),
        job=job,
        start_timestamp=time.time(),
        additional_context={DEPS_KEY: deps},
        abort_reason=lambda: None,
    )
