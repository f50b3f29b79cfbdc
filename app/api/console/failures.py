"""Failures: failed jobs grouped by queue, job type and error type.

The dead letters (failed for good): each group links to the job browser
filtered to its queue, type and the failed state, and an admin retries the
whole group (fresh attempts) or discards it (the dead letters are deleted).
The jobs that failed an attempt and wait for another: an admin cancels a
group, when more attempts will not help. A form names its group and the
newest job of it the page showed, so an action never touches a job that
failed after the page was read.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, get
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app.api.console.session import PATH, action
from app.api.context import Conn, audit_context
from app.services import failures as failure_service
from app.services.failures import FailureGroup

PAGE = f"{PATH}/failures"


@dataclass(frozen=True)
class GroupForm:
    """A group action's form: the group's key and the newest job of it shown.

    `error_type` is absent for the group of jobs that recorded no error, so
    that group is told from one whose error type is an empty string.
    """

    queue: str
    job_type: str
    upto: int
    error_type: str | None = None

    def group(self) -> FailureGroup:
        """The group the form names."""
        return FailureGroup(
            queue=self.queue,
            job_type=self.job_type,
            error_type=self.error_type,
            upto=self.upto,
        )


Form = Annotated[GroupForm, Body(media_type=RequestEncodingType.URL_ENCODED)]


@get(PAGE, include_in_schema=False)
async def failures_page(request: Request[Any, Any, Any], conn: Conn) -> Template:
    """The failed jobs of the newest window, one row per group."""
    report = await failure_service.report(conn)
    return Template(
        "failures.html",
        context={"report": report, "notice": request.query_params.get("notice")},
    )


@action(f"{PAGE}/retry")
async def retry_group(
    request: Request[Any, Any, Any], conn: Conn, data: Form
) -> Redirect:
    """Requeue a group's failed jobs (audited once), then show the failures."""
    done = await failure_service.retry_group(
        conn, data.group(), audit=audit_context(request)
    )
    if not done.matched:
        notice = "bulk-nothing"
    elif done.requeued < done.matched:
        notice = "bulk-retried-partly"
    else:
        notice = "bulk-retried"
    return Redirect(f"{PAGE}?notice={notice}", status_code=303)


@action(f"{PAGE}/discard")
async def discard_group(
    request: Request[Any, Any, Any], conn: Conn, data: Form
) -> Redirect:
    """Delete a group's failed jobs (audited once), then show the failures."""
    removed = await failure_service.discard_group(
        conn, data.group(), audit=audit_context(request)
    )
    notice = "bulk-discarded" if removed else "bulk-nothing"
    return Redirect(f"{PAGE}?notice={notice}", status_code=303)


@action(f"{PAGE}/cancel")
async def cancel_group(
    request: Request[Any, Any, Any], conn: Conn, data: Form
) -> Redirect:
    """Cancel a group's jobs waiting to be retried (audited once), then show the failures."""
    cancelled = await failure_service.cancel_retrying(
        conn, data.group(), audit=audit_context(request)
    )
    notice = "bulk-cancelled" if cancelled else "bulk-nothing"
    return Redirect(f"{PAGE}?notice={notice}", status_code=303)


HANDLERS = [failures_page, retry_group, discard_group, cancel_group]
