"""Typed wrappers of `sql/queries/explain.sql`: why a job is not running."""

from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import fetch_all


@dataclass(frozen=True)
class ReasonRow:
    """One reason a job is not running, as `queue.explain_job` gives it."""

    reason: str
    detail: str
    until: datetime | None
    blocking_job_id: int | None


async def explain_job(
    conn: Connection, *, job_id: int, stalled_after_s: float
) -> list[ReasonRow]:
    """Return why the job is not running, most decisive reason first.

    Raises:
        JobNotFound: no job has this id (QS013).
    """
    return await fetch_all(
        conn,
        "explain_job",
        {"job_id": job_id, "stalled_after_s": stalled_after_s},
        ReasonRow,
    )
