"""Every error as RFC 9457 `application/problem+json`.

- Service errors keep their status, slug (`type: /problems/<slug>`), fixed title
  and detail, plus their extras (`job_id`, field `errors` with JSON pointers).
- Litestar's validation errors become 422 with `errors: [{detail, pointer}]`.
- Other HTTP errors keep their status with `type: about:blank`.
- The database failing (lost connection, statement or lock timeout, no
  connection free in time) is a 503 with `Retry-After`, at once.
- Anything else is a 500 with a generic detail: no SQL, no traceback (those go
  to the log, with the request id).
Every problem carries `instance` (the request path) and `request_id`.
"""

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.plugins.problem_details import (
    ProblemDetailsConfig,
    ProblemDetailsException,
    ProblemDetailsPlugin,
)

from app.api.request_ids import request_id_of
from app.domain import errors
from app.services.database import DATABASE_UNAVAILABLE, unavailable_reason

logger = logging.getLogger(__name__)


class Problem(ProblemDetailsException):
    """A problem that names the request it answers, and is logged once."""

    def to_response(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Add `instance` and `request_id`, log, and render."""
        request_id = request_id_of(request.scope)
        if self.status_code == 503:
            # An outage answers every request so: one line each, no traceback.
            logger.warning(
                "Request answered 503.",
                extra={
                    "action": "http_unavailable",
                    "request_id": request_id,
                    "path": request.url.path,
                    "detail": self.detail,
                },
            )
        elif self.status_code >= 500:
            logger.error(
                "Request failed.",
                exc_info=self.__cause__ or self,
                extra={
                    "action": "http_error",
                    "request_id": request_id,
                    "path": request.url.path,
                },
            )
        else:
            logger.info(
                "Request refused.",
                extra={
                    "action": "http_refused",
                    "request_id": request_id,
                    "status": self.status_code,
                    "path": request.url.path,
                    "detail": self.detail,
                },
            )
        self.instance = self.instance or request.url.path
        extra = self.extra if isinstance(self.extra, dict) else {}
        self.extra = {**extra, "request_id": request_id}
        if request_id:
            self.headers = {**(self.headers or {}), "X-Request-ID": request_id}
        return super().to_response(request)


def _service_error(exc: errors.ServiceError) -> Problem:
    extra: dict[str, Any] = {
        key: value for key, value in exc.extra.items() if key != "sqlstate"
    }
    field_errors = getattr(exc, "errors", None)
    if field_errors:
        extra["errors"] = [_plain(error) for error in field_errors]
    return Problem(
        status_code=exc.status,
        type_=f"/problems/{exc.slug}",
        title=exc.title,
        detail=exc.detail,
        extra=extra,
    )


def _plain(error: Any) -> Any:
    # A refused batch job (a BatchError) is worded as in a batch's answer;
    # field errors are dicts already.
    if hasattr(error, "__dataclass_fields__"):
        plain = dict(vars(error))
        if "job_type" in plain:
            plain["type"] = plain.pop("job_type")
        return plain
    return error


def _pointer(key: str | None, source: Any) -> str:
    # Body fields point into the body (RFC 9457's own example); parameters
    # point under their location: /query/type, /header/Idempotency-Key.
    where = getattr(source, "value", source)
    prefix = "" if where in (None, "body") else f"/{where}"
    if not key:
        return prefix
    if where == "header":
        # Litestar names the handler's argument (idempotency_key); the
        # caller sent the header (Idempotency-Key).
        key = "-".join(word.capitalize() for word in str(key).split("_"))
    parts = [part.replace("~", "~0").replace("/", "~1") for part in str(key).split(".")]
    return prefix + "".join(f"/{part}" for part in parts)


def _validation_error(exc: ValidationException) -> Problem:
    found = exc.extra if isinstance(exc.extra, list) else []
    field_errors = [
        {
            "detail": str(item.get("message", "invalid value")),
            "pointer": _pointer(item.get("key"), item.get("source")),
        }
        for item in found
        if isinstance(item, dict)
    ]
    return Problem(
        status_code=422,
        type_="/problems/validation-error",
        title="Validation error",
        detail="; ".join(f"{e['pointer'] or '/'}: {e['detail']}" for e in field_errors)
        or str(exc.detail),
        extra={"errors": field_errors},
    )


def _http_error(exc: HTTPException) -> Problem:
    headers = dict(exc.headers or {})
    detail = str(exc.detail)
    if exc.status_code == 429:
        # The limiter says when the window frees a slot; clients read Retry-After.
        headers["Retry-After"] = str(max(1, int(headers.get("X-RateLimit-Reset", "1"))))
        detail = f"rate limit of {headers.get('X-RateLimit-Limit', '?')} requests per minute reached; retry later"
    return Problem(
        status_code=exc.status_code,
        type_="about:blank",
        title=_TITLES.get(exc.status_code, "Error"),
        detail=detail,
        headers=headers,
    )


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


RETRY_AFTER_UNAVAILABLE_S = 2


def _database_unavailable(exc: Exception) -> Problem:
    return Problem(
        status_code=503,
        type_="about:blank",
        title="Service unavailable",
        detail=f"The database is unavailable: {unavailable_reason(exc)}. Retry later.",
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE_S)},
    )


def _undecodable(exc: Exception) -> Problem:
    # Only a request's bytes are decoded as UTF-8 before a handler runs. The
    # decoder's offset is within the piece it was given, not the body.
    del exc
    return Problem(
        status_code=400,
        type_="/problems/not-utf-8",
        title="Bad request",
        detail="The body is not UTF-8; JSON bodies must be.",
        extra={"errors": [{"detail": "not UTF-8", "pointer": ""}]},
    )


def _unexpected(exc: Exception) -> Problem:
    del exc
    return Problem(
        status_code=500,
        type_="about:blank",
        title="Internal server error",
        detail="The service failed to handle this request; it has been logged with its request id.",
    )


def _chained(convert: Any) -> Any:
    def handler(exc: Exception) -> Problem:
        problem: Problem = convert(exc)
        problem.__cause__ = exc
        return problem

    return handler


def problem_details_plugin() -> ProblemDetailsPlugin:
    """Return the plugin that renders every error as problem details."""
    return ProblemDetailsPlugin(
        ProblemDetailsConfig(
            enable_for_all_http_exceptions=True,
            exception_to_problem_detail_map={
                errors.ServiceError: _chained(_service_error),
                ValidationException: _chained(_validation_error),
                HTTPException: _chained(_http_error),
                **dict.fromkeys(DATABASE_UNAVAILABLE, _chained(_database_unavailable)),
                UnicodeDecodeError: _chained(_undecodable),
                Exception: _chained(_unexpected),
            },
        )
    )
