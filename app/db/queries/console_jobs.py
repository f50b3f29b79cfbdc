"""Typed wrappers of `sql/queries/console_jobs.sql`: the console's job browser."""

from dataclasses import dataclass
from datetime import datetime

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_one, fetch_value


@dataclass(frozen=True)
class JobIdRange:
    """The lowest and highest job id; both None when there is no job."""

    lowest: int | None
    highest: int | None


@dataclass(frozen=True)
class JobSplit:
    """The jobs on either side of an enqueue time: the last id before, the first at or after."""

    last_below: int | None
    first_at_or_above: int | None


@dataclass(frozen=True)
class BrowsedJob:
    """One row of the job browser."""

    id: int
    queue: str
    job_type: str
    state: str
    attempts: int
    max_attempts: int | None
    enqueued_at: datetime | None
    last_error_type: str | None


@dataclass(frozen=True)
class FilterChoice:
    """A name one of the browser's fields offers (`queue` or `job_type`)."""

    field: str
    name: str


async def get_job_id_range(conn: Connection) -> JobIdRange:
    """Return the lowest and highest job id."""
    found = await fetch_one(conn, "get_job_id_range", {}, JobIdRange)
    return found or JobIdRange(lowest=None, highest=None)


async def browse_jobs_window(
    conn: Connection,
    *,
    top: int,
    floor: int,
    limit: int,
    queue: str | None = None,
    job_type: str | None = None,
    state: str | None = None,
    venue: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    key: str | None = None,
) -> list[BrowsedJob]:
    """Return up to `limit` jobs with ids in [floor, top) matching the filters, newest first.

    A filter left None matches every job; `key` matches a stored key as it
    is or without its scope.
    """
    params = {
        "top": top,
        "floor": floor,
        "limit": limit,
        "queue": queue,
        "job_type": job_type,
        "state": state,
        "venue": venue,
        "since": since,
        "until": until,
        "key": key,
    }
    return await fetch_all(conn, "browse_jobs_window", params, BrowsedJob)


async def find_job_by_key(conn: Connection, *, key: str) -> int | None:
    """Return the id of the job a stored idempotency key names, or None."""
    job_id: int | None = await fetch_value(conn, "find_job_by_key", {"key": key})
    return job_id


async def list_job_filter_choices(conn: Connection) -> list[FilterChoice]:
    """Return every queue's and every job type's name."""
    return await fetch_all(conn, "list_job_filter_choices", {}, FilterChoice)


async def split_jobs_enqueued_at(
    conn: Connection, *, at: datetime, low: int, high: int
) -> JobSplit:
    """Return where the jobs of ids [low, high) enqueued before `at` end and the others begin.

    Exact for jobs whose enqueue transaction was open less than the slack
    the caller folded into `at`.
    """
    params = {"at": at, "low": low, "high": high}
    found = await fetch_one(conn, "split_jobs_enqueued_at", params, JobSplit)
    return found or JobSplit(last_below=None, first_at_or_above=None)


async def plan_for_values(conn: Connection) -> None:
    """Make the current transaction plan each statement for its parameters' values."""
    await execute(conn, "plan_for_values", {})
