"""Fixtures of the client's tests: the suite's migrated databases, a real API, a real worker.

The databases are the root suite's (`tests/conftest.py`: `TEST_DATABASE_URL`,
else testcontainers, else the embedded PostgreSQL; each test's own clone of
the migrated template). The API is a real `queue-service serve` process on a
database of its own, shared by the HTTP tests of a run: each test signs its
own token subject, so idempotency keys (scoped per subject) never meet.
"""

import contextlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from queue_service_client import AsyncQueueClient, QueueClient
from tests.conftest import admin_dsn, db_dsn, template_db  # noqa: F401 - fixtures
from tests.helpers import database
from tests.helpers.api import SECRET, token
from tests.helpers.workers import (
    ROOT,
    free_port,
    prepare_test_tasks,
    wait_for,
    worker_process,
)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def serve(dsn: str, log_dir: Path, **env: str) -> Iterator[str]:
    """Run `queue-service serve` on a free port against `dsn`; yield its base URL once ready."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(log_dir),
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "test",
        "JWT_SECRET": SECRET,
        "PORT": str(port),
        "API_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    log = log_dir / "api.log"
    with log.open("wb") as out:
        # The test's own interpreter running the service's CLI: no outside input.
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(
                lambda: process.poll() is not None or _ready(f"{base}/health/ready"),
                timeout=60,
                what="the API server",
            )
            assert process.poll() is None, log.read_text()[-3000:]
            yield base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextlib.contextmanager
def own_database(admin: str) -> Iterator[str]:
    """A clone of the migrated template, with the test task types; its DSN."""
    name = database.clone_template(admin)
    dsn = database.dsn_for(admin, name)
    try:
        prepare_test_tasks(dsn)
        yield dsn
    finally:
        database.drop_database(admin, name)


@pytest.fixture(scope="session")
def service_dsn(admin_dsn: str, template_db: str) -> Iterator[str]:  # noqa: F811
    """The database of the shared API server (and its worker)."""
    with own_database(admin_dsn) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def api_url(
    service_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real API server for the run; its base URL."""
    with serve(service_dsn, tmp_path_factory.mktemp("client-api")) as base:
        yield base


@pytest.fixture(scope="session")
def worker(
    service_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """A real worker on the shared API's database, started by the tests that need one."""
    with worker_process(
        service_dsn,
        tmp_path_factory.mktemp("client-worker"),
        "--queues",
        "communication,background",
    ):
        yield


@pytest.fixture
def subject() -> str:
    """This test's own token subject: its idempotency keys are its own."""
    return f"client-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def admin_token(subject: str) -> str:
    return token("admin", sub=subject)


@pytest.fixture
def client(api_url: str, admin_token: str) -> Iterator[QueueClient]:
    with QueueClient(api_url, admin_token) as queue:
        yield queue


@pytest.fixture
async def async_client(
    api_url: str, admin_token: str
) -> AsyncIterator[AsyncQueueClient]:
    async with AsyncQueueClient(api_url, admin_token) as queue:
        yield queue
