"""Signing in to the console: the API's own tokens, kept in a cookie.

An operator pastes a token (`queue-service token --role admin`) into the
sign-in form. It is verified exactly as a bearer token is
(`app.api.auth.token_rules`) and kept, as it is, in an HttpOnly, SameSite=Strict
cookie scoped to `/console` until it expires: the session is the token, so
it ends when the token does and carries no rights the token lacks. Every
console request is authenticated by Litestar's JWT cookie middleware with the
same rules; forms and htmx requests carry a CSRF token (Litestar's CSRF
middleware, double-submit cookie, HMAC-signed with `CONSOLE_CSRF_SECRET`).

Who sees what: the `admin` and `monitoring` roles see every page; only
`admin` acts. Other roles are refused with a page that says so.
"""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from litestar import MediaType, Request, Response, get, post
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, QueryParameter
from litestar.response import Redirect, Template
from litestar.security.jwt import JWTCookieAuth, Token

from app.api.auth import TokenRules
from app.domain.access import Principal, Role
from app.domain.errors import ClientError
from app.services.database import unavailable_reason
from app.settings import Settings

COOKIE = "queue_console"
PATH = "/console"
SIGN_IN = f"{PATH}/sign-in"
STATIC = f"{PATH}/static"
VIEWERS = frozenset({Role.ADMIN, Role.MONITORING})
ACTORS = frozenset({Role.ADMIN})


def cookie_auth(rules: TokenRules) -> JWTCookieAuth[Principal, Token]:
    """Return the console's authentication: the API's token rules, from the cookie."""
    return JWTCookieAuth[Principal, Token](
        retrieve_user_handler=rules.principal,
        token_secret=rules.secret,
        algorithm=rules.algorithm,
        key=COOKIE,
        path=PATH,
        samesite="strict",
        require_claims=list(rules.require_claims),
        accepted_issuers=rules.issuers,
        accepted_audiences=rules.audiences,
        exclude=[f"^{SIGN_IN}$", f"^{STATIC}/"],
    )


def csrf_config(settings: Settings) -> CSRFConfig:
    """Return the console's CSRF protection (a cookie of its own, checked on every POST)."""
    secret = settings.api.console_csrf_secret
    key = (
        secret.get_secret_value()
        if secret is not None
        # Derived, so every replica signs alike without another secret to set.
        else hmac.new(
            settings.api.jwt_secret.get_secret_value().encode(),
            b"queue-service console csrf",
            hashlib.sha256,
        ).hexdigest()
    )
    return CSRFConfig(
        secret=key,
        cookie_name="queue_console_csrf",
        cookie_path=PATH,
        cookie_httponly=True,
        cookie_samesite="strict",
        header_name="x-csrftoken",
        exclude=[f"^{STATIC}/"],
    )


async def viewers_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Admit the console's roles; others get a page that says why not."""
    del handler
    _require(connection, VIEWERS)


async def actors_only(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Admit only the roles that may act (admin)."""
    del handler
    _require(connection, ACTORS)


def _require(
    connection: ASGIConnection[Any, Any, Any, Any], roles: frozenset[Role]
) -> None:
    user = connection.scope.get("user")
    if not isinstance(user, Principal):
        raise NotAuthorizedException("sign in with a token")
    if user.role not in roles:
        names = " or ".join(sorted(role.value for role in roles))
        raise PermissionDeniedException(
            f"the {user.role.value} role may not do this here (it takes {names})"
        )


def action(path: str) -> post:
    """Return the route decorator of a console action: a POST an admin alone may send.

    It answers with a 303 to the page to show next (post, redirect, get), and
    stays out of the API's document.
    """
    return post(path, guards=[actors_only], include_in_schema=False, status_code=303)


@get(SIGN_IN, include_in_schema=False)
async def sign_in_page(
    error: Annotated[str | None, QueryParameter(max_length=20)] = None,
) -> Template:
    """The sign-in form."""
    return Template("sign_in.html", context={"error": _SIGN_IN_ERRORS.get(error or "")})


_SIGN_IN_ERRORS = {
    "invalid": "That token is not valid here: it is malformed, expired, signed "
    "with another key, or lacks a claim.",
    "role": "The console is for the admin and monitoring roles.",
}


def sign_in(rules: TokenRules) -> Any:
    """Return the sign-in handler: verify the token, keep it in the cookie."""

    @post(SIGN_IN, include_in_schema=False, status_code=303)
    async def handler(
        request: Request[Any, Any, Any],
        data: Annotated[
            dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)
        ],
    ) -> Response[Any]:
        encoded = data.get("token", "").strip()
        try:
            principal, token = await rules.verify(encoded, request)
        except NotAuthorizedException:
            return Redirect(f"{SIGN_IN}?error=invalid", status_code=303)
        if principal.role not in VIEWERS:
            return Redirect(f"{SIGN_IN}?error=role", status_code=303)
        response = Redirect(PATH, status_code=303)
        response.set_cookie(
            COOKIE,
            encoded,
            path=PATH,
            max_age=max(0, int((token.exp - datetime.now(UTC)).total_seconds())),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    return handler


@post(f"{PATH}/sign-out", include_in_schema=False, status_code=303)
async def sign_out() -> Response[Any]:
    """Forget the cookie."""
    response = Redirect(SIGN_IN, status_code=303)
    response.delete_cookie(COOKIE, path=PATH)
    return response


# What the overview's event stream says when its session has ended (the token
# expired, or sign-out in another tab): EventSource cannot follow a redirect to
# a page, so the stream says it, the page shows it and closes the stream
# (sse-close) instead of retrying and freezing.
SESSION_ENDED_EVENT = (
    b"event: signed-out\n"
    b'data: <p class="error" role="alert" data-field="signed-out">Your session ended: '
    b'<a href="/console/sign-in">sign in again</a>.</p>\n\n'
)


def not_signed_in(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Send a caller without a valid session to the sign-in page."""
    del exc
    if "text/event-stream" in request.headers.get("accept", ""):
        return Response(SESSION_ENDED_EVENT, media_type="text/event-stream")
    if request.headers.get("hx-request"):
        # htmx follows a redirect inside the page; this sends the whole page.
        return Response(b"", status_code=401, headers={"HX-Redirect": SIGN_IN})
    return Redirect(SIGN_IN, status_code=303)


def refused(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Say, on a page, why the caller may not do this, or why it failed."""
    detail = getattr(exc, "detail", "") or str(exc)
    # A domain error keeps its status (404 for a job that is not there).
    status = exc.status if isinstance(exc, ClientError) else 403
    return Template(
        "refused.html",
        context={"detail": detail, "request": request, "status": status},
        status_code=status,
        media_type=MediaType.HTML,
    )


def unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Say, on a page, that the database does not answer (a 503 to retry)."""
    return Template(
        "refused.html",
        context={
            "detail": f"The database is not answering ({unavailable_reason(exc)}). "
            "This page works again as soon as it does: retry in a moment.",
            "request": request,
            "status": 503,
        },
        status_code=503,
        media_type=MediaType.HTML,
        headers={"Retry-After": "2"},
    )


def invalid_form(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Say, on a page, which field of a form or query was not understood."""
    detail = getattr(exc, "detail", "") or "The form's fields could not be read."
    extra = getattr(exc, "extra", None)
    if isinstance(extra, list) and extra:
        names = ", ".join(
            str(item.get("key", "?")) for item in extra if isinstance(item, dict)
        )
        detail = f"{detail}: {names}" if names else detail
    return Template(
        "refused.html",
        context={"detail": detail, "request": request, "status": 400},
        status_code=400,
        media_type=MediaType.HTML,
    )
