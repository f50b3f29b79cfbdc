"""Real processes for tests/ops: `queue-service serve`, a Prometheus server and
an Alertmanager."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.helpers.workers import ROOT, wait_for

JWT_SECRET = "ops-test-secret-that-is-long-enough-for-hs256"  # noqa: S105 - test only


def get(
    url: str, *, timeout: float = 5, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """GET `url` on this machine; return the status and the body."""
    return _send(url, timeout=timeout, headers=headers or {})


def post(url: str, body: object, *, headers: dict[str, str]) -> tuple[int, str]:
    """POST `body` as JSON to `url` on this machine; return the status and the body."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **headers}
    return _send(url, timeout=5, headers=headers, data=data)


def _send(
    url: str, *, timeout: float, headers: dict[str, str], data: bytes | None = None
) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - our own local servers
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - our own local servers
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def _answers(url: str) -> bool:
    try:
        return get(url, timeout=2)[0] == 200
    except OSError:
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running(
    args: list[str], log: Path, *, ready_url: str, env: dict[str, str], cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Start `args`, wait until `ready_url` answers 200, SIGTERM it (and wait) on exit."""
    with log.open("wb") as out:
        # Our own CLI or Debian's prometheus, with arguments the test built.
        process = subprocess.Popen(
            args, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            wait_for(
                lambda: process.poll() is not None or _answers(ready_url),
                timeout=60,
                what=f"{args[0]} to answer {ready_url}",
            )
            assert process.poll() is None, (
                f"{args[0]} exited {process.returncode}:\n{log.read_text()[-3000:]}"
            )
            yield process
        finally:
            _stop(process)


@contextlib.contextmanager
def api(dsn: str, log_dir: Path, port: int, **extra_env: str) -> Iterator[str]:
    """Run `queue-service serve` on 127.0.0.1:`port`; yield its base URL once ready."""
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(log_dir),
        "DATABASE_URL": dsn,
        "QUEUE_ENV": "test",
        "JWT_SECRET": JWT_SECRET,
        "PORT": str(port),
        "LOG_FORMAT": "text",
        "LOG_LEVEL": "WARNING",
        **extra_env,
    }
    with running(
        [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1"],
        log_dir / "api.log",
        ready_url=f"{base}/health/ready",
        env=env,
        cwd=ROOT,
    ):
        yield base


@contextlib.contextmanager
def prometheus(
    binary: str, config: Path, data_dir: Path, port: int, *flags: str
) -> Iterator[str]:
    """Run a Prometheus server on 127.0.0.1:`port`; yield its base URL once ready."""
    base = f"http://127.0.0.1:{port}"
    with running(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
            *flags,
        ],
        data_dir.parent / "prometheus.log",
        ready_url=f"{base}/-/ready",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=data_dir.parent,
    ):
        yield base


@contextlib.contextmanager
def alertmanager(binary: str, config: Path, data_dir: Path, port: int) -> Iterator[str]:
    """Run an Alertmanager on 127.0.0.1:`port`, alone (no cluster); yield its base URL."""
    base = f"http://127.0.0.1:{port}"
    with running(
        [
            binary,
            f"--config.file={config}",
            f"--storage.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        data_dir.parent / "alertmanager.log",
        ready_url=f"{base}/-/ready",
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=data_dir.parent,
    ):
        yield base


def query(base: str, promql: str) -> list[dict]:
    """Run an instant query through Prometheus's HTTP API; return its result vector."""
    status, body = get(
        f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    )
    answer = json.loads(body)
    assert status == 200 and answer["status"] == "success", body
    return answer["data"]["result"]
