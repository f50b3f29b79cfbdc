"""Schedules: jobs enqueued on a UTC cron, kept in `queue.schedules`.

Operators list, add, change and remove schedules (each change audited in its
own transaction) and may run one at once (`run_now`); the periodic task
`run-schedules` calls `run_due`, which enqueues each due run once: the row is
claimed with `FOR UPDATE SKIP LOCKED` and the job enqueued with the key
`schedule-<name>-<run time>` in the transaction that advances the row, so two
processes never enqueue one run twice. After an outage only the latest missed
run is enqueued (`app.domain.schedules`).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.db import Connection
from app.db.queries import schedules as queries
from app.db.queries.schedules import DueSchedule, ScheduleRow, ScheduleStatusRow
from app.domain.errors import (
    ClientError,
    InvalidSchedule,
    JobTypeNotInQueue,
    ScheduleExists,
    ScheduleNotFound,
    UnknownJobType,
    UnknownQueue,
)
from app.domain.job_types import validate_payload
from app.domain.schedules import next_run, plan_run, run_key, validate_cron
from app.services.audit import AuditContext, record
from app.services.enqueue import Enqueued, enqueue

__all__ = ["FIELDS", "ScheduleRow", "ScheduleRun", "ScheduleStatusRow"]

# The fields an update may change.
FIELDS = ("cron", "queue", "job_type", "data", "priority", "active")
# At most this many schedules are handled per call of run_due; the rest wait
# for the next period.
RUN_LIMIT = 100


@dataclass(frozen=True)
class ScheduleRun:
    """What `run_due` did with one claimed schedule.

    Attributes:
        schedule: The schedule's name.
        run_at: The run time enqueued (or attempted), None when nothing was due.
        job_id: The run's job; None when nothing was due or the enqueue failed.
        duplicate: The run's key already named a job (it was enqueued before).
        skipped: Earlier missed runs left out.
        next_run_at: The schedule's next run; None when it was disabled.
        error: Why the run was not enqueued, or why the schedule was disabled.
    """

    schedule: str
    run_at: datetime | None
    job_id: int | None
    duplicate: bool
    skipped: int
    next_run_at: datetime | None
    error: str | None = None


def _not_found(name: str) -> ScheduleNotFound:
    return ScheduleNotFound(f'no schedule is named "{name}"', schedule=name)


async def list_all(conn: Connection) -> list[ScheduleRow]:
    """Return every schedule, in name order."""
    return await queries.list_schedules(conn)


async def list_status(conn: Connection) -> list[ScheduleStatusRow]:
    """Return every schedule with the state of its last run's job, in name order."""
    return await queries.list_schedule_status(conn)


async def get(conn: Connection, name: str) -> ScheduleRow:
    """Return one schedule.

    Raises:
        ScheduleNotFound: no schedule has this name.
    """
    row = await queries.get_schedule(conn, name=name)
    if row is None:
        raise _not_found(name)
    return row


async def _resolve_queue(conn: Connection, *, queue: str | None, job_type: str) -> str:
    """Return the schedule's canonical queue: the given one, or the job type's.

    Raises:
        UnknownJobType, UnknownQueue, JobTypeNotInQueue: with a pointer into
            the body (`/type`, `/queue`).
    """
    target = await queries.find_schedule_target(
        conn, queue=queue or "", job_type=job_type
    )
    if target.job_type_queue is None:
        raise UnknownJobType(
            f'unknown job type "{job_type}"',
            errors=[{"detail": "no job type has this name", "pointer": "/type"}],
        )
    if queue is None:
        return target.job_type_queue
    if target.queue is None:
        raise UnknownQueue(
            f'unknown queue "{queue}"',
            errors=[{"detail": "no queue has this name", "pointer": "/queue"}],
        )
    if target.queue != target.job_type_queue:
        raise JobTypeNotInQueue(
            f'job type "{job_type}" belongs to queue "{target.job_type_queue}", '
            f'not "{target.queue}"',
            errors=[
                {
                    "detail": f"must be {target.job_type_queue} for this type",
                    "pointer": "/queue",
                }
            ],
        )
    return target.queue


async def create(
    conn: Connection,
    *,
    name: str,
    cron: str,
    job_type: str,
    data: dict[str, Any],
    queue: str | None = None,
    priority: int | None = None,
    active: bool = False,
    audit: AuditContext,
) -> ScheduleRow:
    """Add a schedule and audit it; return it.

    The queue defaults to the job type's. An active schedule's first run is
    the first fire time after now.

    Raises:
        InvalidSchedule: a bad cron expression.
        UnknownJobType, UnknownQueue, JobTypeNotInQueue: a bad queue or type.
        PayloadInvalid: `data` does not match the job type's model.
        ScheduleExists: the name is taken.
    """
    cron = validate_cron(cron)
    async with conn.transaction():
        resolved = await _resolve_queue(conn, queue=queue, job_type=job_type)
        validate_payload(job_type, data)
        row = await queries.insert_schedule(
            conn,
            name=name,
            cron=cron,
            queue=resolved,
            job_type=job_type,
            data=data,
            priority=priority,
            active=active,
            next_run_at=next_run(cron, datetime.now(UTC)) if active else None,
        )
        if row is None:
            raise ScheduleExists(f'a schedule named "{name}" exists', schedule=name)
        await record(
            conn,
            audit,
            "schedule.create",
            f"schedule:{name}",
            cron=cron,
            queue=resolved,
            type=job_type,
            priority=priority,
            active=active,
        )
    return row


async def update(
    conn: Connection, name: str, changes: Mapping[str, Any], *, audit: AuditContext
) -> ScheduleRow:
    """Change some fields of a schedule (see FIELDS) and audit it; return it.

    Only what changes is checked: a schedule whose stored data no longer
    passes its model can still be turned off. A new job type without a queue
    moves the schedule to the type's queue. Enabling a schedule or changing
    its cron plans its next run from now; disabling clears it.

    Raises:
        ScheduleNotFound: no schedule has this name.
        InvalidSchedule, UnknownJobType, UnknownQueue, JobTypeNotInQueue,
        PayloadInvalid: as for `create`.
    """
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValueError(f"not schedule fields: {sorted(unknown)}")
    async with conn.transaction():
        row = await queries.lock_schedule(conn, name=name)
        if row is None:
            raise _not_found(name)
        if not changes:
            return row
        cron = validate_cron(changes["cron"]) if "cron" in changes else row.cron
        job_type = changes.get("job_type", row.job_type)
        queue = row.queue
        if "queue" in changes or "job_type" in changes:
            queue = await _resolve_queue(
                conn, queue=changes.get("queue"), job_type=job_type
            )
        data = changes.get("data", row.data)
        if "data" in changes or "job_type" in changes:
            validate_payload(job_type, data)
        active = bool(changes.get("active", row.active))
        next_run_at = row.next_run_at
        if not active:
            next_run_at = None
        elif cron != row.cron or not row.active or row.next_run_at is None:
            next_run_at = next_run(cron, datetime.now(UTC))
        updated = await queries.update_schedule(
            conn,
            name=name,
            cron=cron,
            queue=queue,
            job_type=job_type,
            data=data,
            priority=changes.get("priority", row.priority),
            active=active,
            next_run_at=next_run_at,
        )
        if updated is None:  # pragma: no cover - the row is locked
            raise _not_found(name)
        details = {key: value for key, value in changes.items() if key != "data"}
        await record(
            conn,
            audit,
            "schedule.update",
            f"schedule:{name}",
            fields=sorted(changes),
            **details,
        )
    return updated


async def delete(conn: Connection, name: str, *, audit: AuditContext) -> ScheduleRow:
    """Remove a schedule and audit it; return what was removed.

    Jobs it already enqueued stay.

    Raises:
        ScheduleNotFound: no schedule has this name.
    """
    async with conn.transaction():
        row = await queries.delete_schedule(conn, name=name)
        if row is None:
            raise _not_found(name)
        await record(
            conn,
            audit,
            "schedule.delete",
            f"schedule:{name}",
            cron=row.cron,
            type=row.job_type,
            active=row.active,
        )
    return row


def run_now_key(name: str, at: datetime) -> str:
    """Return the idempotency key of a run requested at `at`, to the second.

    Distinct from the cron's run keys (`run_key`), so a run now never stands
    in for a planned run; to the second, so a form sent twice within the
    same second (a double click, mostly) enqueues once.
    """
    return f"schedule-{name}-now-{at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


async def run_now(conn: Connection, name: str, *, audit: AuditContext) -> Enqueued:
    """Enqueue the schedule's job now, as a run of it would, and audit it.

    The job goes through the schedule runner's enqueue (its queue, type,
    data and priority, the meta naming the schedule) but the row is left as
    it is: the next planned run stays when it was, and last run keeps
    describing the cron's runs. A disabled schedule may be run too.

    Raises:
        ScheduleNotFound: no schedule has this name.
        PayloadInvalid, EnqueueRejected: the stored definition no longer
            passes (data invalid for its type, type moved to another queue).
    """
    at = datetime.now(UTC)
    async with conn.transaction():
        row = await get(conn, name)
        enqueued = await enqueue(
            conn,
            queue=row.queue,
            job_type=row.job_type,
            data=row.data,
            priority=row.priority,
            idempotency_key=run_now_key(name, at),
            meta={"schedule": name, "scheduled_for": at.isoformat(), "run_now": True},
        )
        await record(
            conn,
            audit,
            "schedule.run_now",
            f"schedule:{name}",
            job_id=enqueued.job_id,
            duplicate=enqueued.duplicate,
        )
    return enqueued


async def run_due(conn: Connection, *, limit: int = RUN_LIMIT) -> list[ScheduleRun]:
    """Enqueue the due run of every active schedule; return what was done.

    Each schedule is claimed, enqueued and advanced in one short transaction
    on `conn` (which must be in autocommit mode, as the pool's are). Rows
    another process holds are skipped; it handles them. A schedule not yet
    planned (enabled from SQL) gets its next run; a refused enqueue (invalid
    data, a type moved to another queue) is recorded on the row and that run
    skipped; a stored cron that is not valid disables the schedule.
    """
    runs: list[ScheduleRun] = []
    for _ in range(limit):
        async with conn.transaction():
            due = await queries.claim_due_schedule(conn)
            if due is None:
                break
            runs.append(await _run_one(conn, due))
    return runs


async def _run_one(conn: Connection, due: DueSchedule) -> ScheduleRun:
    try:
        plan = plan_run(
            due.cron,
            next_run_at=due.next_run_at,
            updated_at=due.updated_at,
            now=due.now,
        )
    except InvalidSchedule as exc:
        await queries.disable_schedule(conn, name=due.name, error=exc.detail)
        return ScheduleRun(due.name, None, None, False, 0, None, error=exc.detail)
    if plan.run_at is None:
        await queries.advance_schedule(
            conn, name=due.name, next_run_at=plan.next_run_at
        )
        return ScheduleRun(due.name, None, None, False, 0, plan.next_run_at)
    job_id: int | None = None
    duplicate = False
    error: str | None = None
    try:
        # A savepoint: a refused job must not undo the claim and the advance.
        async with conn.transaction():
            enqueued = await enqueue(
                conn,
                queue=due.queue,
                job_type=due.job_type,
                data=due.data,
                priority=due.priority,
                idempotency_key=run_key(due.name, plan.run_at),
                meta={
                    "schedule": due.name,
                    "scheduled_for": plan.run_at.isoformat(),
                },
            )
        job_id, duplicate = enqueued.job_id, enqueued.duplicate
    except ClientError as exc:
        error = exc.detail
    await queries.advance_schedule(
        conn,
        name=due.name,
        next_run_at=plan.next_run_at,
        run_at=plan.run_at,
        job_id=job_id,
        error=error,
    )
    return ScheduleRun(
        due.name,
        plan.run_at,
        job_id,
        duplicate,
        plan.skipped,
        plan.next_run_at,
        error=error,
    )
