"""The commands start with an old deployment's environment: the old service's variables.

The environment is the old documentation's block (`OLD_DEPLOYMENT`) with
DATABASE_URL left out and DB_HOST, DB_PORT, DB_NAME and DB_USER pointing at the
test database, as an old deployment reaches its database.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from psycopg import conninfo

from tests.helpers.workers import ROOT, free_port, wait_for
from tests.ops.processes import JWT_SECRET, running
from tests.unit.test_settings_old_variables import (
    OLD_DEPLOYMENT,
    OLD_NAMES,
    environment_of,
)


def _old_environment(db_dsn: str, home: Path) -> dict[str, str]:
    parts = conninfo.conninfo_to_dict(db_dsn)
    env = environment_of(OLD_DEPLOYMENT)
    del env["DATABASE_URL"]
    env["DB_HOST"] = str(parts["host"])
    env["DB_PORT"] = str(parts.get("port", "5432"))
    env["DB_NAME"] = str(parts["dbname"])
    env["DB_USER"] = str(parts["user"])
    # The block's DB_PASSWORD stays unless the test server wants one: a server
    # that trusts the test's connections never asks for it.
    if parts.get("password"):
        env["DB_PASSWORD"] = str(parts["password"])
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), **env}


def _assert_warned_once_each(text: str, env: dict[str, str]) -> None:
    # The warnings come before logging is configured: one plain line each.
    lines = text.splitlines()
    for old, new in OLD_NAMES.items():
        if old not in env:
            continue
        found = [line for line in lines if line.startswith(f"{old} ")]
        assert len(found) == 1, (old, text[-3000:])
        assert (new or "has no effect here") in found[0]
    assert "names no setting" not in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


def test_migrate_starts_with_the_old_deployments_environment(db_dsn, tmp_path):
    env = _old_environment(db_dsn, tmp_path)
    # The test's own interpreter running our CLI: no outside input.
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "schema is up to date" in result.stdout
    _assert_warned_once_each(result.stderr, env)


def test_serve_starts_with_the_old_deployments_environment(db_dsn, tmp_path):
    port = free_port()
    env = _old_environment(db_dsn, tmp_path)
    # The block's JWT_SECRET is a placeholder (<256-bit-secret>), which serve
    # refuses outside dev as it refuses any secret under 32 bytes; a deployment
    # has its real one there. Port 3020 may be taken on a shared machine.
    env |= {"JWT_SECRET": JWT_SECRET, "PORT": str(port)}
    log = tmp_path / "api.log"
    with running(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"],
        log,
        ready_url=f"http://127.0.0.1:{port}/health/ready",
        env=env,
        cwd=ROOT,
    ) as process:
        time.sleep(2)
        assert process.poll() is None, log.read_text()[-3000:]
    # The API process reads the settings again in its app factory and reports
    # them in JSON lines; the plain lines are the command's own check.
    _assert_warned_once_each(log.read_text(), env)


def _configured(log: Path) -> tuple[set[str], set[str]]:
    buckets, queues = set(), set()
    # Whole lines only: the worker may be writing the last one.
    for line in log.read_text().split("\n")[:-1]:
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if entry.get("action") == "rate_limit_configured":
            buckets.add(entry["bucket"])
        if entry.get("action") == "thresholds_configured":
            queues.add(entry["queue"])
    return buckets, queues


def test_a_worker_applies_the_old_limits_and_thresholds(db_dsn, tmp_path):
    env = _old_environment(db_dsn, tmp_path)
    # The block names real providers with placeholder credentials: a paging
    # alert must not leave this machine. No metrics port either: other runs
    # share the machine.
    closed = f"http://127.0.0.1:{free_port()}"
    env |= {
        "STRIPE_API_BASE": closed,
        "SENDGRID_API_BASE": closed,
        "TWILIO_API_BASE": closed,
        "WORKER_METRICS_PORT": "0",
    }
    # RATE_LIMIT_SOLANA is the minting bucket's; ALERT_THRESHOLD_COMM_QUEUE the
    # communication queue's. A name the tables lacked would stop the worker.
    expected = (
        {"stripe", "sendgrid", "twilio", "minting"},
        {"money", "communication", "background"},
    )
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        # The test's own interpreter running our CLI: no outside input.
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_for(
                lambda: process.poll() is not None or _configured(log) == expected,
                timeout=60,
                what="the worker to apply the limits and thresholds",
            )
            assert process.poll() is None, log.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
    assert process.returncode == 0, log.read_text()[-3000:]
    _assert_warned_once_each(log.read_text(), env)
