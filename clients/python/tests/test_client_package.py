"""The distribution itself: standalone, versioned, typed, and its error parsing."""

import json
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

import queue_service_client
from queue_service_client import (
    BadRequest,
    ClientError,
    IdempotencyKeyReused,
    InvalidJobData,
    NotFound,
    QueueServiceError,
    RateLimited,
    ServerError,
    ServiceUnavailable,
)
from queue_service_client.errors import error_from_database, error_from_response

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]


def test_package_imports_nothing_of_the_service():
    # A fresh interpreter: what importing every module of the client loads.
    probe = textwrap.dedent(
        """
        import sys
        import queue_service_client, queue_service_client.sql, queue_service_client.testing
        banned = {"app", "workers", "procrastinate", "litestar", "psycopg", "psycopg_pool", "tests"}
        print(sorted({m.split(".")[0] for m in sys.modules} & banned))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_version_is_the_distributions():
    assert queue_service_client.__version__ == version("queue-service-client")


def test_distribution_ships_py_typed():
    # The wheel holds the package directory whole, py.typed with it.
    project = tomllib.loads((ROOT / "clients/python/pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    package = Path(queue_service_client.__file__).parent
    assert packages == ["src/queue_service_client"]
    assert package == ROOT / "clients/python/src/queue_service_client"
    assert (package / "py.typed").exists()


def test_usage_type_checks_strictly(tmp_path):
    usage = tmp_path / "usage.py"
    usage.write_text(
        textwrap.dedent(
            """
            from typing import Any, assert_type
            import psycopg
            from queue_service_client import (
                EnqueuedJob, QueueClient, AsyncQueueClient, SendEmail, JobNotFound, job,
            )
            from queue_service_client.sql import EnqueueResult, enqueue_sql, enqueue_sql_async
            from queue_service_client.testing import RecordingClient

            def send(queue: QueueClient | RecordingClient) -> int:
                made = queue.enqueue(SendEmail(to="a@example.com", template="t"), priority=5)
                assert_type(made, EnqueuedJob)
                other = queue.enqueue("custom", {"a": [1, None]}, queue="background")
                return made.job_id + other.job_id

            def in_sql(conn: psycopg.Connection[Any]) -> EnqueueResult:
                return enqueue_sql(conn, SendEmail(to="a@example.com", template="t"), traceparent="00-x")

            async def in_async_sql(conn: psycopg.AsyncConnection[Any]) -> bool:
                return (await enqueue_sql_async(conn, "custom", {}, queue="background")).duplicate

            async def poll(queue: AsyncQueueClient) -> str:
                try:
                    return (await queue.get_job(1)).state
                except JobNotFound as error:
                    return error.detail

            spec = job(SendEmail(to="a@example.com", template="t"), depends_on=[1])
            """
        )
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--cache-dir",
            "/dev/null",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(usage),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    kind = "application/problem+json" if not isinstance(body, bytes) else "text/html"
    return httpx.Response(
        status,
        content=content,
        headers={"Content-Type": kind, **(headers or {})},
        request=httpx.Request("GET", "http://queue.test/api/v1/queue/jobs/1"),
    )


def test_problem_type_decides_the_class_over_the_status():
    error = error_from_response(
        response(
            409,
            {
                "type": "/problems/idempotency-key-reused",
                "title": "T",
                "status": 409,
                "detail": "d",
                "job_id": 7,
            },
        )
    )
    assert isinstance(error, IdempotencyKeyReused) and error.job_id == 7


def test_unknown_problem_type_falls_back_to_its_status():
    error = error_from_response(
        response(
            404,
            {
                "type": "/problems/something-new",
                "title": "New",
                "status": 404,
                "detail": "d",
                "extra": 1,
            },
        )
    )
    assert type(error) is NotFound
    assert (error.type, error.title, error.extras) == (
        "/problems/something-new",
        "New",
        {"extra": 1},
    )


def test_statuses_without_a_class_fall_back_to_client_and_server_errors():
    assert type(error_from_response(response(418, {"title": "teapot"}))) is ClientError
    assert (
        type(error_from_response(response(502, b"<html>Bad gateway</html>")))
        is ServerError
    )


def test_non_json_error_body_keeps_its_text():
    error = error_from_response(
        response(503, b"<html>down</html>", {"Retry-After": "7"})
    )
    assert isinstance(error, ServiceUnavailable)
    assert error.retry_after == 7
    assert error.detail == "<html>down</html>"
    assert error.type == "about:blank"


def test_retry_after_that_is_a_date_is_ignored():
    error = error_from_response(
        response(
            429, {"title": "Too many"}, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
        )
    )
    assert isinstance(error, RateLimited) and error.retry_after is None


def test_errors_have_defaults_from_their_class():
    error = InvalidJobData()
    assert (error.status, error.type, error.title) == (
        422,
        "/problems/invalid-job-data",
        "Invalid job data",
    )
    assert error.detail == "The job's data does not match its job type's payload model."
    assert isinstance(error, QueueServiceError) and isinstance(
        BadRequest("x"), ClientError
    )


def test_database_errors_that_are_not_the_services_are_left_alone():
    class DriverError(Exception):
        sqlstate = "40001"

    assert error_from_database(DriverError()) is None
    assert error_from_database(RuntimeError()) is None

    class Wrapped(Exception):
        pass

    class Psycopg2Like(Exception):
        pgcode = "QS004"

    try:
        raise Wrapped("django") from Psycopg2Like("invalid data: /data/x: bad")
    except Wrapped as exc:
        mapped = error_from_database(exc)
    assert isinstance(mapped, InvalidJobData) and mapped.sqlstate == "QS004"
    assert mapped.detail == "invalid data: /data/x: bad"
