"""The `app.cli` package: its entry points, and that only running workers loads them."""

import subprocess
import sys
from pathlib import Path

import app.cli

REPO = Path(__file__).resolve().parents[2]


def _python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_cli_package_exports_what_entry_points_and_tests_use():
    assert callable(app.cli.main)  # the `queue-service` console script
    assert callable(app.cli.build_parser)
    assert callable(app.cli.run_migrations)
    assert app.cli.VERSION


def test_python_dash_m_app_cli_runs_the_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, app.cli.VERSION)


def test_importing_the_cli_loads_no_worker_or_benchmark_code():
    # `serve` must never load task code: workers are imported only by the
    # commands that run them.
    loaded = _python(
        "import sys, app.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('workers', 'bench')))"
    )
    assert loaded == "[]"


def test_serve_with_a_short_secret_says_why_and_exits_2_without_a_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve"],
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "QUEUE_ENV": "prod",
            "JWT_SECRET": "<256-bit-secret>",
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "JWT_SECRET" in result.stderr
