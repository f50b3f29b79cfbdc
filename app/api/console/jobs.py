"""Jobs: the browser over every job, one job's page, and its retry, cancel and abort.

The browser (`/console/jobs`) is a GET form: queue, type, state, venue,
enqueue time, job id and idempotency key, every field ANDed. Its pages come
from `app.services.console_jobs.browse_jobs`, newest first, 50 a page,
paged by keyset (`before=<id>`): each page reads a bounded window of ids
below its cursor through an index, never the whole history, and offers
"Older" after a full page or "Search older" when its window is spent (the
service's docstring says why and which index each search uses). Links keep
the filters. Times are typed and shown in UTC.

A job's page (`/console/jobs/{id}`) shows its state, attempts, times, every
attempt's outcome and error, why it is not running (`queue.explain_job`)
and its payload: as it is for admin, redacted for monitoring (keys kept,
values replaced). An admin retries a failed job, cancels a waiting one or
aborts a running one, through the API's own audited services.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from app.api.console.session import PATH, action
from app.api.context import AppSettings, AuthRequest, Conn, audit_context
from app.domain.access import sees_payloads
from app.domain.policy import canonical_queue_name
from app.services import console_jobs as console_job_service
from app.services import jobs as job_service
from app.services.console_jobs import STATES, WINDOW_IDS, JobFilters

JOBS = f"{PATH}/jobs"
# The longest value each field takes: the columns' and the key's own limits.
_NAME_MAX = 128
_KEY_MAX = 600
_VENUE_MAX = 256
_ID_MAX = 2**63 - 1

Query = Annotated[str | None, QueryParameter(required=False)]


@dataclass(frozen=True)
class FilterForm:
    """The browser's fields as typed (refilled, and carried by the paging links)."""

    queue: str = ""
    type: str = ""
    state: str = ""
    venue: str = ""
    since: str = ""
    until: str = ""
    id: str = ""
    key: str = ""

    def given(self) -> dict[str, str]:
        """The fields that hold a value, by their query names."""
        return {name: value for name, value in vars(self).items() if value}


def parse_filters(form: FilterForm, before: str) -> tuple[JobFilters, list[str]]:
    """Read the form into filters; each field that does not parse is a sentence in the list."""
    errors: list[str] = []

    def text(value: str, label: str, longest: int) -> str | None:
        if len(value) > longest:
            errors.append(f"{label}: at most {longest} characters.")
            return None
        return value or None

    def number(value: str, label: str) -> int | None:
        if not value:
            return None
        # Digits first, and few: int() of a long string is costly, then refused.
        if (
            len(value) > len(str(_ID_MAX))
            or not (value.isascii() and value.isdigit())
            or not 0 < int(value) <= _ID_MAX
        ):
            errors.append(f"{label}: a job id is a positive whole number.")
            return None
        return int(value)

    def moment_of(value: str, label: str) -> datetime | None:
        if not value:
            return None
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            errors.append(f"{label}: a date and time, such as 2025-03-01T14:30.")
            return None
        # The form's fields have no zone: the console's times are UTC.
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)

    queue = text(form.queue, "Queue", _NAME_MAX)
    state = form.state or None
    if state is not None and state not in STATES:
        errors.append(f"State: one of {', '.join(STATES)}.")
        state = None
    filters = JobFilters(
        queue=canonical_queue_name(queue) if queue else None,
        job_type=text(form.type, "Job type", _NAME_MAX),
        state=state,
        venue=text(form.venue, "Venue", _VENUE_MAX),
        since=moment_of(form.since, "Enqueued since"),
        until=moment_of(form.until, "Enqueued until"),
        job_id=number(form.id, "Job id"),
        key=text(form.key, "Idempotency key", _KEY_MAX),
        before=number(before, "Page"),
    )
    return filters, errors


def link(form: FilterForm, *, before: int) -> str:
    """The browser's URL for the same filters, from below `before`."""
    return f"{JOBS}?{urlencode({**form.given(), 'before': before})}"


def pretty_json(value: object) -> str:
    """Write a JSON value indented, for a <pre> (the template escapes it)."""
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _typed(value: str | None) -> str:
    return (value or "").strip()


@get(JOBS, include_in_schema=False)
async def jobs_page(
    request: AuthRequest,
    conn: Conn,
    queue: Query = None,
    job_type: Annotated[str | None, QueryParameter(name="type", required=False)] = None,
    # `state` is a name Litestar keeps for the app's state.
    job_state: Annotated[
        str | None, QueryParameter(name="state", required=False)
    ] = None,
    venue: Query = None,
    since: Query = None,
    until: Query = None,
    job_id: Annotated[str | None, QueryParameter(name="id", required=False)] = None,
    key: Query = None,
    before: Query = None,
) -> Template:
    """The job browser: one page of the jobs that match the form, newest first."""
    form = FilterForm(
        queue=_typed(queue),
        type=_typed(job_type),
        state=_typed(job_state),
        venue=_typed(venue),
        since=_typed(since),
        until=_typed(until),
        id=_typed(job_id),
        key=_typed(key),
    )
    filters, errors = parse_filters(form, _typed(before))
    shown = await console_job_service.browser(
        conn, request.user, None if errors else filters
    )
    page = shown.page
    older = search_older = None
    if page is not None and page.older is not None:
        older = link(form, before=page.older)
    if page is not None and page.search_older is not None:
        search_older = link(form, before=page.search_older)
    return Template(
        "jobs.html",
        context={
            "form": form,
            "errors": errors,
            "page": page,
            "states": STATES,
            "choices": shown.choices,
            "searches_keys": sees_payloads(request.user),
            "older": older,
            "search_older": search_older,
            "paged": filters.before is not None,
            "window": WINDOW_IDS,
        },
        status_code=400 if errors else 200,
    )


@get(f"{JOBS}/{{job_id:int}}", include_in_schema=False)
async def job_page(
    request: AuthRequest, conn: Conn, settings: AppSettings, job_id: FromPath[int]
) -> Template:
    """One job: state, attempts, times, outcomes, why it is not running, payload."""
    detail = await console_job_service.job_detail(
        conn, request.user, job_id, stalled_after_s=settings.worker.stalled_after_s
    )
    return Template(
        "job.html",
        context={
            "detail": detail,
            "job": detail.job,
            "payload": pretty_json(detail.job.data),
            # By position: an uncounted attempt (interrupted) shares its number.
            "results": [
                None if o.result is None else pretty_json(o.result)
                for o in detail.outcomes
            ],
            "notice": request.query_params.get("notice"),
        },
    )


def _back(job_id: int, notice: str) -> Redirect:
    return Redirect(f"{JOBS}/{job_id}?notice={notice}", status_code=303)


@action(f"{JOBS}/{{job_id:int}}/retry")
async def retry(request: AuthRequest, conn: Conn, job_id: FromPath[int]) -> Redirect:
    """Requeue a failed job with fresh attempts (audited), then show it."""
    await job_service.retry_as(conn, request.user, job_id, audit=audit_context(request))
    return _back(job_id, "retried")


@action(f"{JOBS}/{{job_id:int}}/cancel")
async def cancel(request: AuthRequest, conn: Conn, job_id: FromPath[int]) -> Redirect:
    """Cancel a waiting job (audited), then show it.

    A job that started meanwhile is asked to abort instead, as the API's
    DELETE does; the notice says which happened.
    """
    return await _cancel(request, conn, job_id)


@action(f"{JOBS}/{{job_id:int}}/abort")
async def abort(request: AuthRequest, conn: Conn, job_id: FromPath[int]) -> Redirect:
    """Ask a running job's worker to stop it (audited), then show it.

    A job that went back to waiting meanwhile is cancelled; the notice says so.
    """
    return await _cancel(request, conn, job_id)


async def _cancel(request: AuthRequest, conn: Conn, job_id: int) -> Redirect:
    state = await job_service.cancel_as(
        conn, request.user, job_id, audit=audit_context(request)
    )
    return _back(job_id, "cancelled" if state == "cancelled" else "aborting")


HANDLERS: list[Any] = [jobs_page, job_page, retry, cancel, abort]
