"""A request id travels from the HTTP request into the job and the worker's log lines."""

from tests.helpers.api import auth
from tests.helpers.workers import prepare_test_tasks, query, wait_for, worker_process


async def test_request_id_reaches_the_worker_log(client, db_dsn, tmp_path):
    prepare_test_tasks(db_dsn)
    response = await client.post(
        "/api/v1/queue/jobs",
        json={
            "queue": "money",
            "type": "test-record-money",
            "data": {"value": "traced"},
        },
        headers={**auth("admin"), "X-Request-ID": "req-trace-42"},
    )
    job_id = response.json()["jobId"]
    with worker_process(db_dsn, tmp_path, LOG_LEVEL="DEBUG", LOG_FORMAT="json"):
        wait_for(
            lambda: (
                query(
                    db_dsn,
                    "SELECT status::text FROM procrastinate_jobs WHERE id = %s",
                    (job_id,),
                )
                == [("succeeded",)]
            ),
            what="the job to run",
        )
    lines = [
        line
        for line in (tmp_path / "worker.log").read_text().splitlines()
        if f'"job_id": {job_id}' in line
    ]
    assert lines, "the worker logged nothing about the job"
    assert all('"request_id": "req-trace-42"' in line for line in lines)
    assert {'"action": "job_started"', '"action": "job_succeeded"'} <= {
        action
        for line in lines
        for action in ('"action": "job_started"', '"action": "job_succeeded"')
        if action in line
    }
