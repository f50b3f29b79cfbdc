"""The API against its own OpenAPI: the docs work offline, and schemathesis,
with every check on, finds nothing against the real server.

The run is the CLI's (examples, coverage, fuzzing and stateful phases), with a
fixed seed and a bounded number of examples per operation. Two checks are off,
for reasons outside what the document can say:
- `positive_data_acceptance` expects every schema-valid body to be taken; ours
  are refused, with a problem, when the rule is semantic: a cron expression
  that does not parse, a job type that does not exist or is not in the queue,
  a payload its type's model refuses, an alert channel without credentials.
- `allow_header_conformance`: Litestar 2's automatic OPTIONS answer lists the
  methods of one handler of a path, not all of them (litestar#4169, fixed in
  Litestar 3).
"""

import os
import signal
import subprocess
import sys
import urllib.request

import pytest

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


# GET /health, and the old service's GET /api/v1/queue/health, answer 503 by
# design while no worker heartbeats (this server runs none); the probes are
# tested on their own.
OFF = "positive_data_acceptance,allow_header_conformance"


def test_api_conforms_to_its_schema_with_every_check(server, tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server}/schema/openapi.json",
            "--header",
            f"Authorization: Bearer {token('admin', sub='schemathesis')}",
            "--checks",
            "all",
            "--exclude-checks",
            OFF,
            "--exclude-operation-id",
            "health",
            "--exclude-operation-id",
            "oldHealth",
            "--max-examples",
            "25",
            "--seed",
            "1",
            "--no-color",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-8000:]
    assert "passed" in summary and "Failures" not in summary, summary
