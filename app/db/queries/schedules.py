"""Typed wrappers of `sql/queries/schedules.sql`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import execute, fetch_all, fetch_one


@dataclass(frozen=True)
class ScheduleRow:
    """A row of `queue.schedules`."""

    name: str
    cron: str
    queue: str
    job_type: str
    data: dict[str, Any]
    priority: int | None
    active: bool
    last_run_at: datetime | None
    last_job_id: int | None
    last_error: str | None
    next_run_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ScheduleStatusRow:
    """A schedule as `queue.schedule_status` shows it, with its last run's job state.

    The definition without `data`, which may carry personal data.
    `last_job_state` is None when there was no run or its job is gone.
    """

    name: str
    cron: str
    queue: str
    job_type: str
    active: bool
    priority: int | None
    next_run_at: datetime | None
    next_run_in_s: float | None
    last_run_at: datetime | None
    last_job_id: int | None
    last_error: str | None
    last_job_state: str | None


@dataclass(frozen=True)
class ScheduleTarget:
    """A queue's canonical name and a job type's queue; None when unknown."""

    queue: str | None
    job_type_queue: str | None


@dataclass(frozen=True)
class DueSchedule:
    """A schedule the task claimed, with the database's time of the claim."""

    name: str
    cron: str
    queue: str
    job_type: str
    data: dict[str, Any]
    priority: int | None
    next_run_at: datetime | None
    updated_at: datetime
    now: datetime


async def list_schedules(conn: Connection) -> list[ScheduleRow]:
    """Return every schedule, in name order."""
    return await fetch_all(conn, "list_schedules", {}, ScheduleRow)


async def list_schedule_status(conn: Connection) -> list[ScheduleStatusRow]:
    """Return every schedule with its last run's job state, in name order."""
    return await fetch_all(conn, "list_schedule_status", {}, ScheduleStatusRow)


async def get_schedule(conn: Connection, *, name: str) -> ScheduleRow | None:
    """Return the schedule, or None."""
    return await fetch_one(conn, "get_schedule", {"name": name}, ScheduleRow)


async def lock_schedule(conn: Connection, *, name: str) -> ScheduleRow | None:
    """Return the schedule locked for this transaction, or None."""
    return await fetch_one(conn, "lock_schedule", {"name": name}, ScheduleRow)


async def find_schedule_target(
    conn: Connection, *, queue: str, job_type: str
) -> ScheduleTarget:
    """Return the queue's canonical name and the job type's queue (None when unknown)."""
    row = await fetch_one(
        conn,
        "find_schedule_target",
        {"queue": queue, "job_type": job_type},
        ScheduleTarget,
    )
    return row or ScheduleTarget(queue=None, job_type_queue=None)


def _definition(
    name: str,
    cron: str,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    priority: int | None,
    active: bool,
    next_run_at: datetime | None,
) -> dict[str, Any]:
    return {
        "name": name,
        "cron": cron,
        "queue": queue,
        "job_type": job_type,
        "data": Jsonb(data),
        "priority": priority,
        "active": active,
        "next_run_at": next_run_at,
    }


async def insert_schedule(
    conn: Connection,
    *,
    name: str,
    cron: str,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    priority: int | None,
    active: bool,
    next_run_at: datetime | None,
) -> ScheduleRow | None:
    """Add a schedule; return it, or None when the name is taken."""
    params = _definition(
        name, cron, queue, job_type, data, priority, active, next_run_at
    )
    return await fetch_one(conn, "insert_schedule", params, ScheduleRow)


async def update_schedule(
    conn: Connection,
    *,
    name: str,
    cron: str,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    priority: int | None,
    active: bool,
    next_run_at: datetime | None,
) -> ScheduleRow | None:
    """Replace the schedule's definition and next run; return it, or None."""
    params = _definition(
        name, cron, queue, job_type, data, priority, active, next_run_at
    )
    return await fetch_one(conn, "update_schedule", params, ScheduleRow)


async def delete_schedule(conn: Connection, *, name: str) -> ScheduleRow | None:
    """Remove the schedule; return it, or None when there was none."""
    return await fetch_one(conn, "delete_schedule", {"name": name}, ScheduleRow)


async def claim_due_schedule(conn: Connection) -> DueSchedule | None:
    """Lock one due (or not yet planned) active schedule for this transaction."""
    return await fetch_one(conn, "claim_due_schedule", {}, DueSchedule)


async def advance_schedule(
    conn: Connection,
    *,
    name: str,
    next_run_at: datetime,
    run_at: datetime | None = None,
    job_id: int | None = None,
    error: str | None = None,
) -> None:
    """Set the schedule's next run; with `run_at`, record that run's job or error."""
    params = {
        "name": name,
        "next_run_at": next_run_at,
        "run_at": run_at,
        "job_id": job_id,
        "error": error,
    }
    await execute(conn, "advance_schedule", params)


async def disable_schedule(conn: Connection, *, name: str, error: str) -> None:
    """Turn the schedule off, recording why."""
    await execute(conn, "disable_schedule", {"name": name, "error": error})
