"""Bearer JWTs: HS256 with JWT_SECRET, or RS256 with JWT_PUBLIC_KEY_FILE.

Claims: `sub`, `exp`, `iat`, `role` (admin, venue_admin, user, monitoring) and
`venues` (the venue ids a venue admin manages). Guards check roles per route;
finer rules (whose job is whose) are the domain's (`app.domain.access`).
"""

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.security.jwt import JWTAuth, Token

from app.domain.access import Principal, Role
from app.settings import ApiSettings

# Paths anyone may call: probes, Prometheus, the API's own description.
OPEN_PATHS = ["^/health", "^/metrics$", "^/schema"]


async def principal_from_token(
    token: Token, connection: ASGIConnection[Any, Any, Any, Any]
) -> Principal:
    """Turn a verified token into the caller.

    Raises:
        NotAuthorizedException: the token lacks a valid role or venues claim.
    """
    del connection
    role = token.extras.get("role")
    venues = token.extras.get("venues", [])
    if role not in {r.value for r in Role}:
        raise NotAuthorizedException(f"token has no valid role claim (got {role!r})")
    if not isinstance(venues, list) or not all(isinstance(v, str) for v in venues):
        raise NotAuthorizedException("token's venues claim must be a list of strings")
    return Principal(sub=token.sub, role=Role(role), venues=tuple(venues))


def jwt_auth(settings: ApiSettings) -> JWTAuth[Principal, Token]:
    """Return the JWT configuration: RS256 when a public key file is set, else HS256."""
    if settings.jwt_public_key_file:
        secret, algorithm = Path(settings.jwt_public_key_file).read_text(), "RS256"
    else:
        secret, algorithm = settings.jwt_secret.get_secret_value(), "HS256"
    return JWTAuth[Principal, Token](
        retrieve_user_handler=principal_from_token,
        token_secret=secret,
        algorithm=algorithm,
        exclude=OPEN_PATHS,
        require_claims=["exp", "iat", "sub"],
    )


def issue_token(
    *,
    secret: str,
    role: Role,
    sub: str,
    venues: Iterable[str] = (),
    ttl: timedelta = timedelta(hours=1),
) -> str:
    """Return an HS256 token for the configured secret (for `queue-service token`)."""
    now = datetime.now(UTC)
    token = Token(
        sub=sub,
        exp=now + ttl,
        iat=now,
        extras={"role": role.value, "venues": list(venues)},
    )
    return token.encode(secret=secret, algorithm="HS256")


def allow(*roles: Role) -> Any:
    """Return a guard that admits only callers with one of `roles`."""
    allowed = frozenset(roles)

    def guard(
        connection: ASGIConnection[Any, Principal, Any, Any], handler: BaseRouteHandler
    ) -> None:
        del handler
        if connection.scope.get("method") == "OPTIONS":
            return  # CORS preflight and Allow discovery carry no token by design
        user = connection.scope.get("user")
        if not isinstance(user, Principal):
            raise NotAuthorizedException("a bearer token is required")
        if user.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise PermissionDeniedException(
                f"role {user.role.value} may not do this (allowed: {names})"
            )

    return guard
