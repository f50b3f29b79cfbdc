"""Schedules: every schedule with its next and last run; enable, disable, run now.

Read from `queue.schedule_status` (the definition without its data, which may
carry personal data) with the state of the last run's job. Enabling and
disabling are the API's `PATCH {"active": ...}` (`schedules.update`, audited
as `schedule.update`): enabling plans the next run from now. Run now enqueues
the schedule's job at once through the runner's enqueue, audited as
`schedule.run_now`, and leaves the planned runs as they were.
"""

from typing import Any

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.api.console.session import PATH, action
from app.api.context import Conn, audit_context
from app.services import schedules as schedule_service

SCHEDULES = f"{PATH}/schedules"


@get(SCHEDULES, include_in_schema=False)
async def schedules(request: Request[Any, Any, Any], conn: Conn) -> Template:
    """Every schedule, in name order (operators write them: they are few)."""
    return Template(
        "schedules.html",
        context={
            "schedules": await schedule_service.list_status(conn),
            "notice": request.query_params.get("notice"),
        },
    )


@action(f"{SCHEDULES}/{{name:str}}/enable")
async def enable(
    request: Request[Any, Any, Any], conn: Conn, name: FromPath[str]
) -> Redirect:
    """Enable a schedule (audited); its next run is its next fire time from now."""
    await schedule_service.update(
        conn, name, {"active": True}, audit=audit_context(request)
    )
    return Redirect(f"{SCHEDULES}?notice=enabled", status_code=303)


@action(f"{SCHEDULES}/{{name:str}}/disable")
async def disable(
    request: Request[Any, Any, Any], conn: Conn, name: FromPath[str]
) -> Redirect:
    """Disable a schedule (audited); it has no next run until enabled again."""
    await schedule_service.update(
        conn, name, {"active": False}, audit=audit_context(request)
    )
    return Redirect(f"{SCHEDULES}?notice=disabled", status_code=303)


@action(f"{SCHEDULES}/{{name:str}}/run")
async def run_now(
    request: Request[Any, Any, Any], conn: Conn, name: FromPath[str]
) -> Redirect:
    """Enqueue the schedule's job now (audited); its next run stays planned."""
    await schedule_service.run_now(conn, name, audit=audit_context(request))
    return Redirect(f"{SCHEDULES}?notice=ran", status_code=303)


HANDLERS = [schedules, enable, disable, run_now]
