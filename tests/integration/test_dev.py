"""`queue-service dev`, what `make run` runs: embedded PostgreSQL, migrations, workers."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import psycopg

from tests.helpers.workers import ROOT, free_port, wait_for


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/health/live", timeout=2
        ) as response:
            return response.status == 200
    except OSError:
        return False


def test_dev_starts_embedded_postgres_migrates_serves_works_and_stops_it(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_RUNTIME_DIR": str(tmp_path / "run"),
        "WORKER_METRICS_PORT": "0",
        "LOG_FORMAT": "text",
        "PORT": str(port),
    }
    (tmp_path / "run").mkdir()
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        # The test's own interpreter running our CLI: no outside input.
        dev = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "dev"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            found = wait_for(
                lambda: re.search(r'psql "(postgresql://[^"]+)"', log.read_text()),
                timeout=120,
                what="the DSN",
            )
            dsn = found.group(1)  # type: ignore[union-attr]
            assert str(tmp_path / "data" / "queue-service" / "pgdata") in dsn
            token = re.search(r"export TOKEN=(\S+)", log.read_text()).group(1)  # type: ignore[union-attr]
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/api/v1/queue/jobs",
                data=json.dumps(
                    {
                        "queue": "background",
                        "type": "analytics-track",
                        "data": {"eventType": "dev"},
                    }
                ).encode(),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                },
            )
            wait_for(lambda: _answers(port), timeout=30, what="the API")
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own local server
                assert response.status == 201
                job_id = json.loads(response.read())["jobId"]
            with psycopg.connect(dsn, autocommit=True) as conn:

                def recorded():
                    return conn.execute(
                        "SELECT count(*) FROM queue.analytics_events WHERE job_id = %s",
                        (job_id,),
                    ).fetchone()[0]

                wait_for(recorded, timeout=30, what="the worker to run the job")
        finally:
            dev.send_signal(signal.SIGTERM)
            code = dev.wait(timeout=60)
    assert code == 0, log.read_text()[-3000:]
    printed = log.read_text()
    # One line per job, and none of procrastinate's routine records.
    assert re.search(rf"Job succeeded\..*job_id={job_id}\b", printed), printed[-3000:]
    assert "Job started." not in printed
    assert "periodic_task_deferred" not in printed
    time.sleep(0.5)
    data_dir = str(tmp_path / "data" / "queue-service" / "pgdata")
    still_running = [
        p
        for p in psutil.process_iter(["cmdline"])
        if data_dir in " ".join(p.info["cmdline"] or [])
    ]
    assert still_running == []
