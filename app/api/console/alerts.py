"""Alerts: the newest the monitor raised, open ones or all; acknowledge one.

Read from `queue.alert_history` (`queue.open_alerts` for the open ones)
through the same service as `GET /alerts`, newest first and bounded: alerts
are kept 7 days, and a storm of them must not make the page slow.
Acknowledging is the API's `acknowledge`, audited as `alert.acknowledge`.
"""

from typing import Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from app.api.console.session import PATH, action
from app.api.context import Conn, audit_context
from app.services import alerts as alert_service

ALERTS = f"{PATH}/alerts"
# The page shows at most this many; older ones are still in the API (`limit`).
LIMIT = 200


@get(ALERTS, include_in_schema=False)
async def alerts(
    request: Request[Any, Any, Any], conn: Conn, show: FromQuery[str] = "open"
) -> Template:
    """The newest alerts: by default the open ones, which still need someone."""
    # Anything but "all" is the default, so a mistyped link still shows a page.
    show = "all" if show == "all" else "open"
    rows = await alert_service.list_alerts(
        conn, severity=None, limit=LIMIT, open_only=show == "open"
    )
    return Template(
        "alerts.html",
        context={
            "alerts": rows,
            "show": show,
            "limit": LIMIT,
            "notice": request.query_params.get("notice"),
        },
    )


@action(f"{ALERTS}/{{alert_id:int}}/acknowledge")
async def acknowledge(
    request: Request[Any, Any, Any], conn: Conn, alert_id: FromPath[int]
) -> Redirect:
    """Acknowledge an alert (audited; the first acknowledgement stands)."""
    await alert_service.acknowledge(conn, alert_id, audit=audit_context(request))
    return Redirect(f"{ALERTS}?notice=acknowledged", status_code=303)


HANDLERS = [alerts, acknowledge]
