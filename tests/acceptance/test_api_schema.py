"""The API against its own OpenAPI: the docs work offline, and a property-based
run of schemathesis (fixed seed, bounded examples) finds no 5xx and no response
that violates the schema."""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.helpers import database
from tests.helpers.api import SECRET, token
from tests.helpers.workers import ROOT, free_port, wait_for


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our local server
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(admin_dsn, template_db, tmp_path_factory):
    """A real `queue-service serve` on a database of its own."""
    name = database.clone_template(admin_dsn)
    port = free_port()
    log = (tmp_path_factory.mktemp("serve") / "serve.log").open("wb")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": database.dsn_for(admin_dsn, name),
        "JWT_SECRET": SECRET,
        "PORT": str(port),
        "API_RATE_LIMIT_PER_MINUTE": "0",
        "LOG_LEVEL": "WARNING",
    }
    # The test's interpreter running our CLI: no outside input.
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(
            lambda: _answers(f"{url}/health/live"), timeout=60, what="the API server"
        )
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()
        database.drop_database(admin_dsn, name)


def test_openapi_and_offline_docs_are_served(server):
    with urllib.request.urlopen(f"{server}/schema/openapi.json", timeout=5) as response:  # noqa: S310
        assert b'"/api/v1/queue/jobs"' in response.read()
    with urllib.request.urlopen(f"{server}/schema", timeout=5) as response:  # noqa: S310
        page = response.read().decode()
    assert "/schema/assets/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "https://" not in page
    for asset in (
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-ui-standalone-preset.js",
    ):
        assert _answers(f"{server}/schema/assets/{asset}"), asset


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(f"{server}/schema/openapi.json")


# GET /health answers 503 by design while no worker heartbeats (this server runs
# none); the probes are tested on their own.
schema = schemathesis.pytest.from_fixture("api_schema").exclude(operation_id="health")


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,  # the same examples every run
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_conforms_to_its_schema(case):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token('admin', sub='schemathesis')}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
