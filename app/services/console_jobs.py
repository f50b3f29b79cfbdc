"""The console's job pages: a browser over every job, and one job in full.

Browsing. Jobs come newest first, 50 a page, paged by keyset on the id (a
`before` cursor, the last id shown), never by OFFSET. The history is large
(a million finished jobs is an ordinary week of retention) and most filters
have no index (type, venue and key live in `args`, the enqueue time too), so
a page never searches all of it: it reads only the ids of a window, the
`WINDOW_IDS` ids below its cursor, through an index that returns them in id
order, and stops at the page's last match. Its cost is bounded by the
window, whatever the filters and however rare the match:

- most searches: `procrastinate_jobs_pkey`, backwards (so does `failed`
  alone: a window holds failures enough to fill a page at once);
- `failed` in one queue: `procrastinate_jobs_failed_idx` (queue_name, id),
  partial on that state;
- `todo`, `doing`: `procrastinate_jobs_id_lock_idx_v1` (id, lock), partial
  on those two states.

Each page's statements are planned for its own values (`plan_for_values`),
so the planner sees only the filters given and can use a partial index.

A time range narrows the ids first: ids follow insert order and
`enqueued_at` is the enqueue transaction's start, so bisecting the ids on
the enqueue time (`split_jobs_enqueued_at`, about twenty primary-key
probes) gives the ids a range can hold, widened by `ENQUEUE_SLACK` for
transactions that stayed open before they enqueued. A range deep in the
history is then searched where it lies, not reached window by window.

A full page links to the next ("Older", from its last id). A window that
yields less than a page is spent: the page offers "Search older" from the
window's end, so the operator, not the database, decides to look further
back. No index is added for the browser: every one would cost each enqueue.

Two searches skip the window. A job id is read by its primary key. An
idempotency key, as stored, is one probe of `queue.idempotency_keys`'s
primary key over the whole history (a key names one job). A key that is not
stored as typed (a caller's own key, which HTTP callers' scopes prefix:
`@<scope>:<key>`; or one whose row expired) is searched in the window like
the other filters, matching stored keys as they are or without their scope.
Every filter given applies to both.

Who sees what: the operators' roles browse every job; monitoring sees no
payloads: it may not search by key (keys are rendered from the data, e.g. an
email address), and a job's page shows it the payload, results and key
redacted (`app.domain.access.redact_payload`), and a held serial lock (an
ordering key, also rendered from the data) without its value.
"""

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from app.db import Connection
from app.db.queries import console_jobs as queries
from app.db.queries import explain as explain_queries
from app.db.queries import jobs as job_queries
from app.db.queries.console_jobs import BrowsedJob
from app.db.queries.explain import ReasonRow
from app.db.queries.jobs import JobRow, OutcomeRow
from app.domain.access import (
    Principal,
    can_browse_jobs,
    can_inspect_job,
    redact_payload,
    sees_payloads,
)
from app.domain.errors import Forbidden, JobNotFound, ValueRefused

__all__ = ["BrowsedJob", "JobRow", "OutcomeRow", "ReasonRow"]

PAGE_SIZE = 50
WINDOW_IDS = 100_000
# How long an enqueue transaction may have been open when it enqueued for a
# time search to find its jobs: enqueued_at is the transaction's start, the
# id is taken at the insert, so a job's id may sit that much later among its
# neighbours' times. Each bound of a time range is widened by it.
ENQUEUE_SLACK = timedelta(minutes=5)
STATES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")


@dataclass(frozen=True)
class JobFilters:
    """What the browser looks for; None matches every job.

    `since` and `until` bound the enqueue time (`until` exclusive);
    `before` is the page's cursor, the id the page starts below.
    """

    queue: str | None = None
    job_type: str | None = None
    state: str | None = None
    venue: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    job_id: int | None = None
    key: str | None = None
    before: int | None = None


@dataclass(frozen=True)
class JobPage:
    """One page of the browser and where the next one starts.

    `older`: the next page's cursor when this window holds more matches.
    `search_older`: the next window's cursor when this one is spent and
    older ids may match. `searched` is the id range read, [low, high); None
    for a lookup by id or key (`found_by`).
    """

    jobs: list[BrowsedJob]
    older: int | None = None
    search_older: int | None = None
    searched: tuple[int, int] | None = None
    found_by: str | None = None


@dataclass(frozen=True)
class FilterChoices:
    """The names the browser's queue and type fields offer."""

    queues: list[str]
    job_types: list[str]


@dataclass(frozen=True)
class JobBrowser:
    """The browser page: a page of jobs (None when the form did not parse) and its choices."""

    page: JobPage | None
    choices: FilterChoices


@dataclass(frozen=True)
class JobDetail:
    """A job, every attempt, and why it is not running, as this caller may see them.

    `redacted`: the payload, results and key were replaced (`sees_payloads`
    is False).
    """

    job: JobRow
    outcomes: list[OutcomeRow]
    reasons: list[ReasonRow]
    redacted: bool


async def browse_jobs(
    conn: Connection, principal: Principal, filters: JobFilters
) -> JobPage:
    """Return one page of the jobs that match every filter given, newest first.

    Raises:
        Forbidden: the caller's role does not browse jobs, or searches by
            key without seeing payloads.
        ValueRefused: an unknown state.
    """
    if not can_browse_jobs(principal):
        raise Forbidden("your role may not browse jobs")
    if filters.key is not None and not sees_payloads(principal):
        raise Forbidden(
            "your role may not search by idempotency key: keys are made of job data"
        )
    if filters.state is not None and filters.state not in STATES:
        raise ValueRefused(f"unknown state {filters.state!r}")
    async with conn.transaction():
        await queries.plan_for_values(conn)
        if filters.job_id is not None:
            return JobPage(await _one(conn, filters.job_id, filters), found_by="id")
        if filters.key is not None:
            job_id = await queries.find_job_by_key(conn, key=filters.key)
            if job_id is not None:
                found = await _one(conn, job_id, filters)
                if found:
                    return JobPage(found, found_by="key")
        return await _window(conn, filters)


async def _one(conn: Connection, job_id: int, filters: JobFilters) -> list[BrowsedJob]:
    # A window of one id: the same query, the same filters, by the primary key.
    return await _read(conn, filters, top=job_id + 1, floor=job_id, limit=1)


async def _window(conn: Connection, filters: JobFilters) -> JobPage:
    ids = await queries.get_job_id_range(conn)
    if ids.lowest is None or ids.highest is None:
        return JobPage([])
    # [bottom, top): the ids that may match; a time range narrows them.
    bottom, top = ids.lowest, ids.highest + 1
    if filters.until is not None:
        split = await queries.split_jobs_enqueued_at(
            conn, at=filters.until + ENQUEUE_SLACK, low=bottom, high=top
        )
        top = bottom if split.last_below is None else split.last_below + 1
    if filters.since is not None and bottom < top:
        split = await queries.split_jobs_enqueued_at(
            conn, at=filters.since - ENQUEUE_SLACK, low=bottom, high=top
        )
        bottom = top if split.first_at_or_above is None else split.first_at_or_above
    if filters.before is not None:
        top = min(top, filters.before)
    if top <= bottom:
        return JobPage([])
    floor = max(top - WINDOW_IDS, bottom)
    found = await _read(conn, filters, top=top, floor=floor, limit=PAGE_SIZE + 1)
    if len(found) > PAGE_SIZE:
        shown = found[:PAGE_SIZE]
        return JobPage(shown, older=shown[-1].id, searched=(floor, top))
    return JobPage(
        found,
        search_older=floor if floor > bottom else None,
        searched=(floor, top),
    )


async def _read(
    conn: Connection, filters: JobFilters, *, top: int, floor: int, limit: int
) -> list[BrowsedJob]:
    return await queries.browse_jobs_window(
        conn,
        top=top,
        floor=floor,
        limit=limit,
        queue=filters.queue,
        job_type=filters.job_type,
        state=filters.state,
        venue=filters.venue,
        since=filters.since,
        until=filters.until,
        key=filters.key,
    )


async def browser(
    conn: Connection, principal: Principal, filters: JobFilters | None
) -> JobBrowser:
    """Return what the browser page shows: its fields' choices and, given filters, a page.

    Raises:
        Forbidden, ValueRefused: as `browse_jobs`.
    """
    page = None if filters is None else await browse_jobs(conn, principal, filters)
    choices = await queries.list_job_filter_choices(conn)
    return JobBrowser(
        page=page,
        choices=FilterChoices(
            queues=[c.name for c in choices if c.field == "queue"],
            job_types=[c.name for c in choices if c.field == "job_type"],
        ),
    )


async def job_detail(
    conn: Connection, principal: Principal, job_id: int, *, stalled_after_s: float
) -> JobDetail:
    """Return a job the caller may inspect, its attempts and why it is not running.

    A worker counts as listening when it heartbeated within `stalled_after_s`.

    Raises:
        JobNotFound: no such job, or one the caller may not inspect (its
            existence is not revealed).
    """
    job = await job_queries.get_job(conn, job_id=job_id)
    if job is None or not can_inspect_job(
        principal, user_id=job.user_id, venue_id=job.venue_id
    ):
        raise JobNotFound(f"job {job_id} does not exist", job_id=job_id)
    outcomes = await job_queries.list_job_outcomes(conn, job_id=job_id)
    reasons = await explain_queries.explain_job(
        conn, job_id=job_id, stalled_after_s=stalled_after_s
    )
    if sees_payloads(principal):
        return JobDetail(job, outcomes, reasons, redacted=False)
    return JobDetail(
        replace(job, data=redact_payload(job.data), idempotency_key=None),
        [
            replace(o, result=None if o.result is None else redact_payload(o.result))
            for o in outcomes
        ],
        [_without_lock_value(r) for r in reasons],
        redacted=True,
    )


# queue.explain_job names a held lock as a quoted literal (%L: '' inside).
_LOCK_LITERAL = re.compile(r"serial lock '(?:[^']|'')*'")


def _without_lock_value(reason: ReasonRow) -> ReasonRow:
    # An ordering key is rendered from the job's data (a webhook's URL, which
    # may carry its secret): the blocking job's id says what an operator needs.
    if reason.reason != "lock_held":
        return reason
    return replace(reason, detail=_LOCK_LITERAL.sub("its serial lock", reason.detail))
