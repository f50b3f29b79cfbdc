"""Bearer JWTs: HS256 with JWT_SECRET, or RS256 with JWT_PUBLIC_KEY_FILE.

Claims: `sub`, `exp`, `iat`, `role` (admin, venue_admin, user, monitoring) and
`venues` (the venue ids a venue admin manages). Guards check roles per route;
finer rules (whose job is whose) are the domain's (`app.domain.access`).
"""

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AuthenticationResult
from litestar.security.jwt import JWTAuth, JWTAuthenticationMiddleware, Token

from app.domain.access import Principal, Role
from app.settings import ApiSettings

# Paths anyone may call: probes, Prometheus, the API's own description, and
# Stripe's events, which prove themselves by their signature instead of a
# token (app.api.controllers.webhooks). Exact, so no other path opens with it.
# The old service's probes too, exactly: nothing else under /api/v1/queue.
OPEN_PATHS = [
    "^/health",
    "^/metrics$",
    "^/schema",
    "^/api/v1/queue/webhooks/stripe$",
    "^/api/v1/queue/health(/ready)?$",
    # The console signs in with the same tokens, kept in a cookie
    # (app.api.console.session): its own middleware checks them.
    "^/console(/|$)",
]


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
    if not isinstance(role, str) or role not in _ROLES:
        shown = role if isinstance(role, str) else type(role).__name__
        raise NotAuthorizedException(
            f"token has no valid role claim (got {shown!r:.40})"
        )
    if not isinstance(venues, list) or not all(_plain_id(v) for v in venues):
        raise NotAuthorizedException(
            "token's venues claim must be a list of ids (1-256 characters, no control characters)"
        )
    if not _plain_id(token.sub):
        raise NotAuthorizedException(
            "token's sub claim must be 1-256 characters without control characters"
        )
    return Principal(sub=token.sub, role=Role(role), venues=tuple(venues))


_ROLES = frozenset(r.value for r in Role)


def _plain_id(value: object) -> bool:
    # Subjects and venues go into job metadata, key scopes and log lines.
    return (
        isinstance(value, str)
        and 0 < len(value) <= 256
        and not any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value)
    )


class VerifiedTokenCache(JWTAuthenticationMiddleware):
    """Litestar's JWT middleware, verifying each distinct token once.

    Clients send the same token for its whole life; signature checking and
    claim parsing cost more than the rest of a small request. A token seen
    before is answered from a bounded cache until its `exp`.
    """

    CAPACITY = 10_000

    async def authenticate_token(
        self, encoded_token: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Return the cached result of a still-valid token, else verify it."""
        cache = _TOKEN_CACHE
        # The key holds the verifying key too: apps with other keys never share entries.
        key = (
            self.algorithm,
            self.token_secret,
            repr((self.token_issuer, self.token_audience)),
            encoded_token,
        )
        hit = cache.get(key)
        if hit is not None and hit[0] > time.time():
            cache.move_to_end(key)
            return hit[1]
        result = await super().authenticate_token(encoded_token, connection)
        cache[key] = (result.auth.exp.timestamp(), result)
        if len(cache) > self.CAPACITY:
            cache.popitem(last=False)
        return result


# Shared by the middleware instances of every route (Litestar builds one per
# route); bounded, oldest use evicted first.
_TOKEN_CACHE: OrderedDict[
    tuple[str, str, str, str], tuple[float, AuthenticationResult]
] = OrderedDict()


@dataclass(frozen=True)
class TokenRules:
    """How a token is verified: the key, and the claims it must carry."""

    secret: str
    algorithm: str
    issuers: list[str] | None
    audiences: list[str] | None
    principal: Callable[
        [Token, ASGIConnection[Any, Any, Any, Any]], Awaitable[Principal]
    ]
    require_claims: tuple[str, ...] = ("exp", "iat", "sub")

    async def verify(
        self, encoded: str, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> tuple[Principal, Token]:
        """Return the caller of an encoded token, as the middleware would.

        Raises:
            NotAuthorizedException: the token is invalid, expired or lacks a claim.
        """
        token = Token.decode(
            encoded_token=encoded,
            secret=self.secret,
            algorithm=self.algorithm,
            audience=self.audiences,
            issuer=self.issuers,
            require_claims=list(self.require_claims),
        )
        return await self.principal(token, connection), token


def token_rules(settings: ApiSettings) -> TokenRules:
    """Return how tokens are verified: RS256 when a public key file is set, else HS256."""
    if settings.jwt_public_key_file:
        secret, algorithm = Path(settings.jwt_public_key_file).read_text(), "RS256"
    else:
        secret, algorithm = settings.jwt_secret.get_secret_value(), "HS256"
    max_ttl = timedelta(seconds=settings.jwt_max_ttl_s)

    async def principal(
        token: Token, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> Principal:
        # A stolen token is good until it expires: refuse long-lived ones.
        if token.iat is not None and token.exp - token.iat > max_ttl:
            raise NotAuthorizedException(
                f"token lives longer than JWT_MAX_TTL_S ({settings.jwt_max_ttl_s} s)"
            )
        return await principal_from_token(token, connection)

    return TokenRules(
        secret=secret,
        algorithm=algorithm,
        issuers=[settings.jwt_issuer] if settings.jwt_issuer else None,
        audiences=[settings.jwt_audience] if settings.jwt_audience else None,
        principal=principal,
    )


def jwt_auth(settings: ApiSettings) -> JWTAuth[Principal, Token]:
    """Return the bearer-token configuration of the API."""
    rules = token_rules(settings)
    return JWTAuth[Principal, Token](
        retrieve_user_handler=rules.principal,
        token_secret=rules.secret,
        algorithm=rules.algorithm,
        exclude=OPEN_PATHS,
        require_claims=list(rules.require_claims),
        accepted_issuers=rules.issuers,
        accepted_audiences=rules.audiences,
        authentication_middleware_class=VerifiedTokenCache,
    )


def issue_token(
    *,
    secret: str,
    role: Role,
    sub: str,
    venues: Iterable[str] = (),
    ttl: timedelta = timedelta(hours=1),
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """Return an HS256 token for the configured secret (for `queue-service token`)."""
    now = datetime.now(UTC)
    token = Token(
        sub=sub,
        exp=now + ttl,
        iat=now,
        iss=issuer,
        aud=audience,
        extras={"role": role.value, "venues": list(venues)},
    )
    return token.encode(secret=secret, algorithm="HS256")


def allow(*roles: Role) -> Any:
    """Return a guard that admits only callers with one of `roles`."""
    allowed = frozenset(roles)

    # async: Litestar runs a sync guard in a worker thread, a thread hop and a
    # GIL handoff on every request.
    async def guard(
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
