"""/api/v1/queue/schedules: jobs enqueued on a UTC cron (`queue.schedules`)."""

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.api.auth import allow
from app.api.context import AuthRequest, Conn, audit_context
from app.api.documented import problems
from app.api.schemas.schedules import Schedule, ScheduleCreate, SchedulePatch
from app.domain.access import OBSERVERS, Role
from app.services import schedules as schedule_service


class ScheduleController(Controller):
    """Schedules: one service call per request."""

    path = "/api/v1/queue/schedules"
    tags = ["schedules"]  # noqa: RUF012 - Litestar's class-level configuration

    @get(
        "/",
        operation_id="listSchedules",
        responses=problems(),
        guards=[allow(*OBSERVERS)],
    )
    async def list_schedules(self, conn: Conn) -> list[Schedule]:
        """Every schedule, in name order."""
        return [Schedule.from_row(row) for row in await schedule_service.list_all(conn)]

    @get(
        "/{name:str}",
        operation_id="getSchedule",
        responses=problems(404),
        guards=[allow(*OBSERVERS)],
    )
    async def get_schedule(self, conn: Conn, name: FromPath[str]) -> Schedule:
        """One schedule with its last and next run."""
        return Schedule.from_row(await schedule_service.get(conn, name))

    @post(
        "/",
        operation_id="createSchedule",
        responses=problems(409),
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
            job_type=data.job_type,
            data=data.data,
            queue=data.queue,
            priority=data.priority,
            active=data.active,
            audit=audit_context(request),
        )
        return Schedule.from_row(row)

    @patch(
        "/{name:str}",
        operation_id="updateSchedule",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
    )
    async def update_schedule(
        self,
        request: AuthRequest,
        conn: Conn,
        name: FromPath[str],
        data: JSONBody[SchedulePatch],
    ) -> Schedule:
        """Change a schedule; enabling it or changing its cron plans its next run from now."""
        row = await schedule_service.update(
            conn,
            name,
            data.model_dump(exclude_unset=True),
            audit=audit_context(request),
        )
        return Schedule.from_row(row)

    @delete(
        "/{name:str}",
        operation_id="deleteSchedule",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def delete_schedule(
        self, request: AuthRequest, conn: Conn, name: FromPath[str]
    ) -> Schedule:
        """Remove a schedule and return it; jobs it already enqueued stay."""
        row = await schedule_service.delete(conn, name, audit=audit_context(request))
        return Schedule.from_row(row)
