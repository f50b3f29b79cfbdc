"""The environment of the processes a benchmark starts (workers, the API, its client)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

# The directory holding the `bench` package: a child started with `python -m`
# elsewhere than the repository root still imports `bench.*` (the drain
# benchmark's workers load their no-op task from it by name).
ROOT = str(Path(__file__).resolve().parent.parent)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """Return this process's environment plus `extra`, with `bench` importable."""
    path = [ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, **extra, "PYTHONPATH": os.pathsep.join(path)}


def spawn_module(args: list[str], env: dict[str, str]) -> "subprocess.Popen[bytes]":
    """Start `python -m ARGS` with this interpreter and `child_env(env)`, output discarded.

    Standard error stays this process's, so a worker that fails says why.
    """
    # Our own interpreter running our own module: no outside input.
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", *args],
        env=child_env(env),
        stdout=subprocess.DEVNULL,
    )


def stop_children(children: list["subprocess.Popen[bytes]"]) -> None:
    """SIGTERM every child still running, then wait for each (a minute at most)."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        child.wait(timeout=60)
