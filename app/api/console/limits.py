"""Provider limits: every rate-limit bucket and circuit breaker, as of now.

A bucket shows its tokens against its burst, its rate (and how far a 429
slowed it), its concurrency leases, its Retry-After hold and its emergency
stop; a breaker its state. An admin stops or resumes a bucket (or every
bucket) and resets one, through the same service, and so the same audit, as
the API's endpoints. Breakers are shown, not steered: calls' outcomes move
them.
"""

from typing import Annotated, Any

from litestar import Request, get
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from app.api.console.session import PATH, action
from app.api.context import Conn, audit_context
from app.services import rate_limits as rate_limit_service

PAGE = f"{PATH}/limits"
# One breaker per provider and one per webhook host: enough for any page.
BREAKERS_SHOWN = 500
REASON_CHARS = 500

Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _reason(data: dict[str, str]) -> str | None:
    # What the audit row keeps of why; the form's field is optional.
    reason = data.get("reason", "").strip()[:REASON_CHARS]
    return reason or None


@get(PAGE, include_in_schema=False)
async def limits_page(request: Request[Any, Any, Any], conn: Conn) -> Template:
    """Every bucket and breaker as of now."""
    buckets = await rate_limit_service.buckets(conn)
    breakers = await rate_limit_service.breakers(conn, limit=BREAKERS_SHOWN)
    return Template(
        "limits.html",
        context={
            "buckets": buckets,
            "breakers": breakers,
            "notice": request.query_params.get("notice"),
        },
    )


@action(f"{PAGE}/{{name:str}}/stop")
async def stop(
    request: Request[Any, Any, Any], conn: Conn, name: FromPath[str], data: Form
) -> Redirect:
    """Emergency-stop one bucket (audited), then show the limits."""
    await rate_limit_service.set_stopped(
        conn,
        stopped=True,
        names=[name],
        reason=_reason(data),
        audit=audit_context(request),
    )
    return Redirect(f"{PAGE}?notice=stopped", status_code=303)


@action(f"{PAGE}/{{name:str}}/resume")
async def resume(
    request: Request[Any, Any, Any], conn: Conn, name: FromPath[str], data: Form
) -> Redirect:
    """Lift one bucket's emergency stop (audited), then show the limits."""
    await rate_limit_service.set_stopped(
        conn,
        stopped=False,
        names=[name],
        reason=_reason(data),
        audit=audit_context(request),
    )
    return Redirect(f"{PAGE}?notice=provider-resumed", status_code=303)


@action(f"{PAGE}/{{name:str}}/reset")
async def reset(
    request: Request[Any, Any, Any], conn: Conn, name: FromPath[str]
) -> Redirect:
    """Refill one bucket and lift its Retry-After hold (audited)."""
    await rate_limit_service.reset(conn, name, audit=audit_context(request))
    return Redirect(f"{PAGE}?notice=reset", status_code=303)


@action(f"{PAGE}/stop-all")
async def stop_all(request: Request[Any, Any, Any], conn: Conn, data: Form) -> Redirect:
    """Emergency-stop every bucket (audited once), as the API's stop without names."""
    await rate_limit_service.set_stopped(
        conn,
        stopped=True,
        names=None,
        reason=_reason(data),
        audit=audit_context(request),
    )
    return Redirect(f"{PAGE}?notice=stopped-all", status_code=303)


@action(f"{PAGE}/resume-all")
async def resume_all(
    request: Request[Any, Any, Any], conn: Conn, data: Form
) -> Redirect:
    """Lift every bucket's emergency stop (audited once)."""
    await rate_limit_service.set_stopped(
        conn,
        stopped=False,
        names=None,
        reason=_reason(data),
        audit=audit_context(request),
    )
    return Redirect(f"{PAGE}?notice=resumed-all", status_code=303)


HANDLERS = [limits_page, stop, resume, reset, stop_all, resume_all]
