"""How one attempt of a job ended, from the job chain to the lane that settles it."""

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


def job_id_of(job: Job) -> int:
    """Return the id of a job fetched from the database (which always has one)."""
    if job.id is None:
        raise RuntimeError(f"job {job.task_name} has no id: it was never saved")
    return job.id
