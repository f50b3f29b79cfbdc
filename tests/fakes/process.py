"""Run a fake in a subprocess, for tests whose workers run as subprocesses too.

The handle talks to the fake's `/__fake__/` control paths: recorded requests,
side-effect state, failure injection and delays.
"""

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class FakeProcess:
    """A fake served by another process."""

    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _call(self, method: str, command: str, payload: Any = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        # Always http://127.0.0.1: the fake's own control path.
        request = urllib.request.Request(  # noqa: S310
            f"{self.url}/__fake__/{command}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def requests(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "requests"))

    def state(self) -> dict[str, Any]:
        return dict(self._call("GET", "state"))

    def fail_next(
        self,
        count: int,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        path_prefix: str | None = None,
    ) -> None:
        self._call(
            "POST",
            "fail_next",
            {
                "count": count,
                "status": status,
                "body": body,
                "headers": headers,
                "path_prefix": path_prefix,
            },
        )

    def set_delay(self, delay_s: float) -> None:
        self._call("POST", "delay", {"delay_s": delay_s})

    def clear(self) -> None:
        self._call("POST", "clear", {})


@contextmanager
def fake_process(name: str, *options: str) -> Iterator[FakeProcess]:
    """Start `python -m tests.fakes <name> --port 0 <options>`; stop it after."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes", name, "--port", "0", *options],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.strip().isdigit():
            raise RuntimeError(f"fake {name} did not start (printed {line!r})")
        yield FakeProcess(process=process, port=int(line))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
