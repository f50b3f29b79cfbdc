"""What happened during each attempt, from the middleware to the job manager.

The middleware sees how the task ended (result, exception, timing); the job
manager decides the job's next state and writes both in one statement. This log
carries the first to the second, keyed by job id.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from procrastinate.jobs import Job

Ending = Literal[
    "succeeded", "failed", "interrupted", "aborted", "deduplicated", "rate_limited"
]


@dataclass(frozen=True)
class Attempt:
    """How one attempt of a job ended."""

    started_at: datetime
    finished_at: datetime
    ending: Ending
    error_type: str | None = None
    error_message: str | None = None
    result: Any = None


class AttemptLog:
    """Attempts of the jobs this process is running."""

    def __init__(self) -> None:
        self._attempts: dict[int, Attempt] = {}

    def record(self, job_id: int, attempt: Attempt) -> None:
        """Remember how the job's current attempt ended."""
        self._attempts[job_id] = attempt

    def peek(self, job_id: int) -> Attempt | None:
        """Return the job's attempt, keeping it for the job manager."""
        return self._attempts.get(job_id)

    def pop(self, job_id: int) -> Attempt | None:
        """Return and forget the job's attempt (None when no middleware saw it run)."""
        return self._attempts.pop(job_id, None)


def job_id_of(job: Job) -> int:
    """Return the id of a job fetched from the database (which always has one)."""
    if job.id is None:
        raise RuntimeError(f"job {job.task_name} has no id: it was never saved")
    return job.id
