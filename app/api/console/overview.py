"""The overview: every queue's counts and charts, live; pause and resume.

The page renders the latest reading of the process's `ConsoleFeed`; the
browser then listens to `/console/events` (server-sent events, htmx's sse
extension), which sends the counts and the charts again, rendered here, at
each new reading. Every viewer of a process shares the feed's readings.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, ServerSentEvent, Template
from litestar.response.sse import ServerSentEventMessage
from markupsafe import Markup

from app.api.console.charts import Chart, series_by, svg
from app.api.console.session import PATH, action
from app.api.context import Conn, DbPool, audit_context
from app.services import queues as queue_service
from app.services.console_feed import DAY, HOUR, ConsoleFeed, LiveView, read_view

Feed = NamedDependency[ConsoleFeed]
LIVE_TEMPLATE = "partials/overview_live.html"
STREAM_S = 15.0
RECONNECT_MS = 500


def charts(view: LiveView) -> list[Markup]:
    """Draw the overview's four charts from one reading."""
    read = view.charts
    end = read.read_at
    names = [queue.queue for queue in view.queues]
    return [
        svg(
            Chart(
                "Waiting, last hour (monitor snapshots)",
                end - HOUR,
                end,
                series_by(read.depth_hour, key="queue", at="at", value="waiting"),
                names,
            )
        ),
        svg(
            Chart(
                "Completed per minute, last hour",
                end - HOUR,
                end,
                series_by(
                    read.throughput_hour, key="queue", at="minute", value="completed"
                ),
                names,
            )
        ),
        svg(
            Chart(
                "Waiting, last day (hourly peaks)",
                end - DAY,
                end,
                series_by(read.depth_day, key="queue", at="hour", value="waiting"),
                names,
            )
        ),
        svg(
            Chart(
                "Completed per hour, last day",
                end - DAY,
                end,
                series_by(read.throughput_day, key="queue", at="at", value="completed"),
                names,
            )
        ),
    ]


def live_context(view: LiveView) -> dict[str, Any]:
    """What the live part of the page shows of a reading."""
    return {"queues": view.queues, "charts": charts(view), "read_at": view.read_at}


@get(PATH, include_in_schema=False)
async def overview(request: Request[Any, Any, Any], pool: DbPool) -> Template:
    """The overview page, read now; the events keep it current."""
    view = await read_view(pool)
    return Template(
        "overview.html",
        context={
            **live_context(view),
            "notice": request.query_params.get("notice"),
        },
    )


@get(f"{PATH}/events", include_in_schema=False)
async def events(request: Request[Any, Any, Any], feed: Feed) -> ServerSentEvent:
    """Each new reading of the feed, as the rendered live part of the overview.

    A stream ends after `STREAM_S` and the browser reconnects (EventSource
    does, after `retry`): a server asked to stop waits for open requests,
    and a stream without an end would hold it until it is killed.
    """
    template = request.app.template_engine.get_template(LIVE_TEMPLATE)  # type: ignore[union-attr]

    async def messages() -> AsyncIterator[ServerSentEventMessage]:
        views = feed.views()
        try:
            async with asyncio.timeout(STREAM_S):
                async for view in views:
                    html = template.render(**live_context(view), request=request)
                    yield ServerSentEventMessage(
                        event="overview", data=html, retry=RECONNECT_MS
                    )
        except TimeoutError:
            return
        finally:
            await views.aclose()

    return ServerSentEvent(messages())


@action(f"{PATH}/queues/{{queue:str}}/pause")
async def pause(
    request: Request[Any, Any, Any], conn: Conn, queue: FromPath[str]
) -> Redirect:
    """Pause a queue (audited), then show the overview."""
    await queue_service.set_paused(
        conn, queue, paused=True, audit=audit_context(request)
    )
    return Redirect(f"{PATH}?notice=paused", status_code=303)


@action(f"{PATH}/queues/{{queue:str}}/resume")
async def resume(
    request: Request[Any, Any, Any], conn: Conn, queue: FromPath[str]
) -> Redirect:
    """Resume a queue (audited), then show the overview."""
    await queue_service.set_paused(
        conn, queue, paused=False, audit=audit_context(request)
    )
    return Redirect(f"{PATH}?notice=resumed", status_code=303)
