"""The environment of the processes a benchmark starts (workers, the API, its client)."""

import os
from pathlib import Path

# The directory holding the `bench` package: a child started with `python -m`
# elsewhere than the repository root still imports `bench.*` (the drain
# benchmark's workers load their no-op task from it by name).
ROOT = str(Path(__file__).resolve().parent.parent)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """Return this process's environment plus `extra`, with `bench` importable."""
    path = [ROOT, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, **extra, "PYTHONPATH": os.pathsep.join(path)}
