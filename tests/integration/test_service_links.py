"""The commands start in a Kubernetes pod's environment: every Service's links set.

The links name Services of ops/k8s (read from the manifests) and Services
named db, api, worker and queue; their addresses are never connected to.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.helpers.kubernetes import all_service_links
from tests.helpers.workers import (
    ROOT,
    enqueue,
    free_port,
    query,
    wait_for,
    worker_process,
)
from tests.ops.processes import JWT_SECRET, running


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The test's own interpreter running our CLI: no outside input.
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _ran(dsn: str, job_id: int) -> bool:
    rows = query(
        dsn, "SELECT count(*) FROM queue.analytics_events WHERE job_id = %s", (job_id,)
    )
    return rows[0][0] == 1


def test_token_starts_with_the_users_example(tmp_path):
    result = _cli(
        "token",
        "--role",
        "admin",
        env={
            "HOME": str(tmp_path),
            "QUEUE_ENV": "dev",  # the dev secret: tokens for local use only
            "QUEUE_SERVICE_API_PORT": "tcp://192.0.2.1:3020",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().count(".") == 2  # a JWT
    assert "names no setting" not in result.stderr


def test_token_refuses_to_sign_with_an_unsafe_secret_outside_dev(tmp_path):
    for secret in (None, "short", "change-me-to-a-long-random-secret"):
        env = {"HOME": str(tmp_path)} | ({"JWT_SECRET": secret} if secret else {})
        result = _cli("token", "--role", "admin", env=env)
        assert result.returncode != 0
        assert result.stdout == ""
        assert "refusing to sign a token: JWT_SECRET" in result.stderr
    too_long = _cli(
        "token",
        "--role",
        "admin",
        "--ttl",
        "2d",
        env={"HOME": str(tmp_path), "JWT_SECRET": JWT_SECRET},
    )
    assert too_long.returncode != 0 and "JWT_MAX_TTL_S" in too_long.stderr


def test_token_starts_with_every_services_links(tmp_path):
    env = {"HOME": str(tmp_path), "JWT_SECRET": JWT_SECRET, **all_service_links()}
    result = _cli("token", "--role", "admin", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_typo_of_ours_is_a_warning_on_stderr_and_the_command_runs(tmp_path):
    env = {"HOME": str(tmp_path), "JWT_SECRET": JWT_SECRET, "JWT_SECRT": "x"}
    result = _cli("token", "--role", "admin", env=env)
    assert result.returncode == 0, result.stderr
    assert (
        "JWT_SECRT names no setting and is ignored; did you mean JWT_SECRET?"
        in result.stderr
    )


def _no_warnings(log: Path) -> None:
    text = log.read_text()
    assert "names no setting" not in text, text[-3000:]
    assert "service link" not in text, text[-3000:]


def test_serve_starts_with_every_services_links(db_dsn, tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": db_dsn,
        "QUEUE_ENV": "prod",
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "LOG_FORMAT": "text",
        **all_service_links(),
    }
    log = tmp_path / "api.log"
    with running(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"],
        log,
        ready_url=f"http://127.0.0.1:{port}/health/ready",
        env=env,
        cwd=ROOT,
    ):
        pass
    _no_warnings(log)


def test_worker_starts_with_every_services_links(db_dsn, tmp_path):
    with worker_process(db_dsn, tmp_path, **all_service_links()) as worker:
        job = enqueue(db_dsn, "background", "analytics-track", {"eventType": "links"})
        wait_for(lambda: _ran(db_dsn, job), what="the worker to run the job")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    _no_warnings(tmp_path / "worker.log")


def test_dev_starts_with_every_services_links(db_dsn, tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "DATABASE_URL": db_dsn,
        "PORT": str(port),
        "WORKER_METRICS_PORT": "0",
        "LOG_FORMAT": "text",
        **all_service_links(),
    }
    log = tmp_path / "dev.log"
    with running(
        [sys.executable, "-m", "app.cli", "dev"],
        log,
        ready_url=f"http://127.0.0.1:{port}/health/ready",
        env=env,
        cwd=ROOT,
    ):
        job = enqueue(db_dsn, "background", "analytics-track", {"eventType": "links"})
        wait_for(lambda: _ran(db_dsn, job), what="dev's worker to run the job")
    _no_warnings(log)
