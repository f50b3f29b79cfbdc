"""Request ids: accepted from X-Request-ID or generated, echoed, and handed to jobs.

The id goes into each enqueued job's meta, so the worker's log lines for that
job carry it too.
"""

import re
import uuid

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Request-ID"
# Ids from outside are logged and stored: keep them short and plain.
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_of(scope: Scope) -> str:
    """Return the request id of the current request."""
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Wrap `app` so every HTTP request has a request id, echoed in the response."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        # Latin-1 reads any bytes; what is not a plain id is replaced below.
        given = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"),
            None,
        )
        request_id = given if given and _ACCEPTABLE.match(given) else str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id

        echoed = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            # Replaces the one a problem response carries (it sets its own, as
            # errors raised before this middleware, a 401, are rendered outside it).
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *(
                        header
                        for header in message.get("headers", ())
                        if header[0].lower() != b"x-request-id"
                    ),
                    echoed,
                ]
            await send(message)

        await app(scope, receive, send_with_id)

    return middleware
