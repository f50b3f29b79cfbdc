"""`queue-service worker --processes N`: N worker processes, restarted when they die.

Each child is `queue-service worker --processes 1` with WORKER_PROCESS_INDEX set
(its metrics port is the configured one plus its index). SIGTERM and SIGINT are
passed on to the children, which shut down gracefully; the supervisor exits 0
once all have.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

logger = logging.getLogger(__name__)

RESTART_BACKOFF_S = 1.0


def supervise(processes: int, child_args: Sequence[str]) -> int:
    """Run `processes` children until a signal stops them; return the exit code."""
    stopping = False

    def start(index: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, "WORKER_PROCESS_INDEX": str(index)}
        # Our own interpreter and arguments, not user input.
        return subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "app.cli",
                "worker",
                *child_args,
                "--processes",
                "1",
            ],
            env=env,
        )

    children = {index: start(index) for index in range(processes)}
    started = dict.fromkeys(children, time.monotonic())

    def forward(signum: int, frame: FrameType | None) -> None:
        del frame
        nonlocal stopping
        stopping = True
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    logger.info(
        "Supervising worker processes.",
        extra={"action": "supervisor_started", "processes": processes},
    )
    while True:
        for index, child in list(children.items()):
            code = child.poll()
            if code is None or stopping:
                continue
            logger.error(
                "Worker process died; restarting it.",
                extra={
                    "action": "worker_restarted",
                    "index": index,
                    "pid": child.pid,
                    "exit_code": code,
                },
            )
            # A process that dies at once would otherwise be restarted in a busy loop.
            time.sleep(
                max(0.0, RESTART_BACKOFF_S - (time.monotonic() - started[index]))
            )
            children[index] = start(index)
            started[index] = time.monotonic()
        if stopping and all(child.poll() is not None for child in children.values()):
            break
        time.sleep(0.2)
    # A child that was still starting when the signal came dies of it before
    # it could claim anything: that is a clean stop too.
    clean = {0, -signal.SIGTERM, -signal.SIGINT}
    codes = {index: child.returncode for index, child in children.items()}
    logger.info(
        "Worker processes stopped.",
        extra={"action": "supervisor_stopped", "exit_codes": codes},
    )
    return 0 if all(code in clean for code in codes.values()) else 1
