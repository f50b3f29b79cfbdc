"""/api/v1/queue/schedules: jobs enqueued on a UTC cron (`queue.schedules`)."""

from datetime import datetime
from typing import Any

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from pydantic import Field, field_validator

from app.api.auth import allow
from app.api.context import AuthRequest, Conn, audit_context
from app.api.schemas import Schema
from app.domain.access import OBSERVERS, Role
from app.services import schedules as schedule_service

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
CRON_DESCRIPTION = (
    "UTC cron: five fields (minute hour day-of-month month day-of-week), "
    "or @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually."
)

# camelCase field of the API → field of the service
PATCH_FIELDS = {
    "cron": "cron",
    "queue": "queue",
    "type": "job_type",
    "data": "data",
    "priority": "priority",
    "active": "active",
}


class Schedule(Schema):
    """A schedule and its last and next run."""

    name: str
    cron: str
    queue: str
    type: str
    data: dict[str, Any]
    priority: int | None = Field(description="null: the job type's default.")
    active: bool
    lastRunAt: datetime | None = Field(
        description="The last run time handled (enqueued, or refused: see lastError)."
    )
    lastJobId: int | None = Field(description="The job of the last run.")
    lastError: str | None = Field(
        description="Why the last run was not enqueued, or why the schedule was disabled."
    )
    nextRunAt: datetime | None = Field(
        description="null while inactive, or until a schedule enabled from SQL is planned."
    )
    createdAt: datetime
    updatedAt: datetime


class ScheduleCreate(Schema):
    """POST /schedules."""

    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="Lower-case letters, digits, '.', '_' and '-'.",
    )
    cron: str = Field(min_length=1, max_length=100, description=CRON_DESCRIPTION)
    queue: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The job type's queue (the default) or an alias of it.",
    )
    type: str = Field(
        min_length=1, max_length=128, description="Job type, e.g. cleanup-old-data."
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="The payload of every run, checked now."
    )
    priority: int | None = Field(
        default=None, ge=1, le=10, description="1-10; null: the type's default."
    )
    active: bool = Field(default=False, description="Runs only while true.")


class SchedulePatch(Schema):
    """PATCH /schedules/:name: the fields to change (priority null: the type's default)."""

    cron: str | None = Field(
        default=None, min_length=1, max_length=100, description=CRON_DESCRIPTION
    )
    queue: str | None = Field(default=None, min_length=1, max_length=64)
    type: str | None = Field(default=None, min_length=1, max_length=128)
    data: dict[str, Any] | None = None
    priority: int | None = Field(default=None, ge=1, le=10)
    active: bool | None = None

    @field_validator("cron", "queue", "type", "data", "active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


def schedule_body(row: schedule_service.ScheduleRow) -> Schedule:
    """Return a schedule in the API's shape."""
    return Schedule(
        name=row.name,
        cron=row.cron,
        queue=row.queue,
        type=row.job_type,
        data=row.data,
        priority=row.priority,
        active=row.active,
        lastRunAt=row.last_run_at,
        lastJobId=row.last_job_id,
        lastError=row.last_error,
        nextRunAt=row.next_run_at,
        createdAt=row.created_at,
        updatedAt=row.updated_at,
    )


class ScheduleController(Controller):
    """Schedules: one service call per request."""

    path = "/api/v1/queue/schedules"
    tags = ["schedules"]  # noqa: RUF012 - Litestar's class-level configuration

    @get("/", operation_id="listSchedules", guards=[allow(*OBSERVERS)])
    async def list_schedules(self, conn: Conn) -> list[Schedule]:
        """Every schedule, in name order."""
        return [schedule_body(row) for row in await schedule_service.list_all(conn)]

    @get("/{name:str}", operation_id="getSchedule", guards=[allow(*OBSERVERS)])
    async def get_schedule(self, conn: Conn, name: FromPath[str]) -> Schedule:
        """One schedule with its last and next run."""
        return schedule_body(await schedule_service.get(conn, name))

    @post(
        "/",
        operation_id="createSchedule",
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_201_CREATED,
    )
    async def create_schedule(
        self, request: AuthRequest, conn: Conn, data: JSONBody[ScheduleCreate]
    ) -> Schedule:
        """Add a schedule; an active one first runs at its next fire time."""
        row = await schedule_service.create(
            conn,
            name=data.name,
            cron=data.cron,
            job_type=data.type,
            data=data.data,
            queue=data.queue,
            priority=data.priority,
            active=data.active,
            audit=audit_context(request),
        )
        return schedule_body(row)

    @patch("/{name:str}", operation_id="updateSchedule", guards=[allow(Role.ADMIN)])
    async def update_schedule(
        self,
        request: AuthRequest,
        conn: Conn,
        name: FromPath[str],
        data: JSONBody[SchedulePatch],
    ) -> Schedule:
        """Change a schedule; enabling it or changing its cron plans its next run from now."""
        changes = {
            PATCH_FIELDS[key]: value
            for key, value in data.model_dump(exclude_unset=True).items()
        }
        row = await schedule_service.update(
            conn, name, changes, audit=audit_context(request)
        )
        return schedule_body(row)

    @delete(
        "/{name:str}",
        operation_id="deleteSchedule",
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def delete_schedule(
        self, request: AuthRequest, conn: Conn, name: FromPath[str]
    ) -> Schedule:
        """Remove a schedule and return it; jobs it already enqueued stay."""
        row = await schedule_service.delete(conn, name, audit=audit_context(request))
        return schedule_body(row)
