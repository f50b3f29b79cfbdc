"""Errors of queue-service, as the client raises them.

Every refusal of the service is one `QueueServiceError`, whichever way the
job went: an HTTP answer (RFC 9457 `application/problem+json`, see the
service's `docs/problems.md`) or a `queue.enqueue*` call on your own database
connection (SQLSTATE class `QS`). The class says what happened: first by the
problem `type` (`/problems/job-not-found` is `JobNotFound`), else by the HTTP
status (any 404 is at least `NotFound`). A SQL refusal is raised as the class
the HTTP API answers the same refusal with, so one `except InvalidJobData`
covers both paths.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

# The members of a problem body every problem may carry; anything else in the
# body (`job_id`, `errors`, `request_id`) is one of its extras.
_STANDARD_MEMBERS = frozenset({"type", "title", "status", "detail", "instance"})


class FieldError(BaseModel):
    """One field a request got wrong: what is wrong, and where (a JSON Pointer)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    detail: str
    pointer: str


class QueueServiceError(Exception):
    """The queue service refused the request."""

    # The default status and problem type of the class; an instance carries
    # what the service answered.
    default_status: ClassVar[int | None] = None
    slug: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str | None = None,
        *,
        status: int | None = None,
        type: str | None = None,
        title: str | None = None,
        instance: str | None = None,
        extras: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        sqlstate: str | None = None,
    ) -> None:
        """Build the error from a problem's members.

        Args:
            detail: What went wrong with this request; the class docstring if none.
            status: The HTTP status (for a SQL refusal, the one the API answers it with).
            type: The problem type, `/problems/<slug>` or `about:blank`.
            title: The problem type's fixed title.
            instance: The request path the problem answers.
            extras: The problem body's other members (`job_id`, `errors`, `request_id`).
            retry_after: Seconds to wait before retrying (`Retry-After`), if given.
            sqlstate: The SQLSTATE of a refusal on a database connection.
        """
        self.detail = detail or (self.__class__.__doc__ or "").strip()
        self.status = status if status is not None else self.default_status
        self.type = type or (f"/problems/{self.slug}" if self.slug else "about:blank")
        self.title = title or _default_title(self)
        self.instance = instance
        self.extras: Mapping[str, Any] = dict(extras or {})
        self.retry_after = retry_after
        self.sqlstate = sqlstate
        super().__init__(self.detail)

    @property
    def errors(self) -> tuple[FieldError, ...]:
        """The field errors of the problem (`errors: [{detail, pointer}]`), if any."""
        found = self.extras.get("errors")
        if not isinstance(found, list):
            return ()
        parsed: list[FieldError] = []
        for item in found:
            try:
                parsed.append(FieldError.model_validate(item))
            except ValidationError:
                continue
        return tuple(parsed)

    @property
    def request_id(self) -> str | None:
        """The request id the service logged the refusal with."""
        value = self.extras.get("request_id")
        return value if isinstance(value, str) and value else None

    @property
    def job_id(self) -> int | None:
        """The job the problem names (`job_id`), such as the owner of a reused key."""
        value = self.extras.get("job_id")
        return value if isinstance(value, int) else None

    def __str__(self) -> str:
        """Say the status, the title and the detail."""
        head = f"{self.status} {self.title}" if self.status else self.title
        return f"{head}: {self.detail}" if self.detail else head

    def __repr__(self) -> str:
        """Show the class, status, type and detail."""
        return (
            f"{type(self).__name__}(status={self.status!r}, type={self.type!r}, "
            f"detail={self.detail!r})"
        )


def _default_title(error: QueueServiceError) -> str:
    # The service's titles are its slugs in words ("Invalid job data"), and
    # the reason phrase for a plain status.
    if error.slug:
        return error.slug.replace("-", " ").capitalize()
    if error.status:
        return httpx.codes.get_reason_phrase(error.status) or "Error"
    return "Error"


class TransportError(QueueServiceError):
    """The queue service could not be reached, or did not answer in time."""


class ClientError(QueueServiceError):
    """The service refused the request as it was sent."""

    default_status = 400


class BadRequest(ClientError):
    """The request was malformed."""

    default_status = 400


class Unauthorized(ClientError):
    """The token is missing, expired or not valid for this service."""

    default_status = 401


class Forbidden(ClientError):
    """The token's role may not do this."""

    default_status = 403


class NotFound(ClientError):
    """There is no such resource, or the caller may not see it."""

    default_status = 404


class Conflict(ClientError):
    """The request conflicts with the state of the resource."""

    default_status = 409


class PayloadTooLarge(ClientError):
    """The request, or a job's data, is too large."""

    default_status = 413


class Unprocessable(ClientError):
    """The request is well-formed but its content was refused."""

    default_status = 422


class RateLimited(ClientError):
    """Too many requests from this caller; retry after `retry_after` seconds."""

    default_status = 429


class ServerError(QueueServiceError):
    """The service failed to answer the request; it logged it with its request id."""

    default_status = 500


class ServiceUnavailable(ServerError):
    """The service cannot serve now (its database is unavailable); retry after `retry_after` seconds."""

    default_status = 503


# Problem types of the endpoints this client calls (the service's
# docs/problems.md). A type not listed here is raised as its status's class.


class RequestValidationError(Unprocessable):
    """The body, a query or a header does not match its schema."""

    slug = "validation-error"


class InvalidJobData(Unprocessable):
    """The job's data does not match its job type's payload model."""

    slug = "invalid-job-data"


class ValueRefused(Unprocessable):
    """The database cannot hold a value of the request."""

    slug = "value-refused"


class InvalidPriority(Unprocessable):
    """The priority is not an integer from 1 to 10."""

    slug = "invalid-priority"


class MissingIdempotencyKeyField(Unprocessable):
    """The data lacks a field the job type's idempotency-key template needs."""

    slug = "missing-idempotency-key-field"


class InvalidDependency(Unprocessable):
    """A dependency names a job that does not exist, or cannot be named so."""

    slug = "invalid-dependency"


class BatchRejected(Unprocessable):
    """An all-or-nothing batch had invalid jobs; nothing was enqueued."""

    slug = "batch-rejected"


class NotUtf8(BadRequest):
    """The body is not UTF-8."""

    slug = "not-utf-8"


class UnknownJobType(BadRequest):
    """No job type has this name."""

    slug = "unknown-job-type"


class JobTypeNotInQueue(BadRequest):
    """The job type belongs to another queue."""

    slug = "job-type-not-in-queue"


class InvalidEnqueueRequest(BadRequest):
    """The enqueue request is malformed (an unknown field, a bad key or option)."""

    slug = "invalid-enqueue-request"


class UnknownQueue(NotFound):
    """No queue has this name."""

    slug = "unknown-queue"


class JobNotFound(NotFound):
    """No job has this id, or the caller may not see it."""

    slug = "job-not-found"


class BatchNotFound(NotFound):
    """No batch has this id, or the caller may not see it."""

    slug = "batch-not-found"


class JobDataTooLarge(PayloadTooLarge):
    """The job's data is larger than 64 KiB, or nests too deep."""

    slug = "job-data-too-large"


class IdempotencyKeyConflict(Conflict):
    """The idempotency key belongs to a job of another type."""

    slug = "idempotency-key-conflict"


class IdempotencyKeyReused(Conflict):
    """The idempotency key was used with a different request; `job_id` names its job."""

    slug = "idempotency-key-reused"


class InvalidJobTransition(Conflict):
    """The job is not in a state that allows this."""

    slug = "invalid-job-transition"


class ObjectForbidden(Forbidden):
    """The role allows the endpoint but not this object (another venue's job)."""

    slug = "forbidden"


_BY_STATUS: Mapping[int, type[QueueServiceError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: Unprocessable,
    429: RateLimited,
    503: ServiceUnavailable,
}


def _subclasses(root: type[QueueServiceError]) -> list[type[QueueServiceError]]:
    found: list[type[QueueServiceError]] = []
    for child in root.__subclasses__():
        found.append(child)
        found.extend(_subclasses(child))
    return found


_BY_TYPE: Mapping[str, type[QueueServiceError]] = {
    f"/problems/{cls.slug}": cls for cls in _subclasses(QueueServiceError) if cls.slug
}

# SQLSTATEs `queue.enqueue*` raises, as the service's API answers them.
_BY_SQLSTATE: Mapping[str, type[QueueServiceError]] = {
    "QS001": UnknownQueue,
    "QS002": UnknownJobType,
    "QS003": JobTypeNotInQueue,
    "QS004": InvalidJobData,
    "QS005": JobDataTooLarge,
    "QS006": MissingIdempotencyKeyField,
    "QS007": InvalidPriority,
    "QS008": IdempotencyKeyConflict,
    "QS009": InvalidEnqueueRequest,
    "QS010": InvalidEnqueueRequest,
    "QS011": InvalidEnqueueRequest,
    "QS016": InvalidDependency,
}


def error_class(
    *, status: int | None, problem_type: str | None
) -> type[QueueServiceError]:
    """Return the class of a problem: by its type if the client knows it, else by status."""
    if problem_type and problem_type in _BY_TYPE:
        return _BY_TYPE[problem_type]
    if status is None:
        return QueueServiceError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    if status >= 400:
        return ClientError
    return QueueServiceError


def _retry_after(response: httpx.Response) -> float | None:
    # Seconds, as the service sends it; an HTTP date (allowed by RFC 9110) is
    # not worth a parser here: the service never sends one.
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def error_from_response(response: httpx.Response) -> QueueServiceError:
    """Return the error an HTTP error response stands for.

    A problem+json body gives every member; any other body (a proxy's HTML
    page) gives its status, its reason phrase and the start of its text.
    """
    body: object = None
    try:
        body = response.json()
    except ValueError:
        body = None
    status = response.status_code
    if isinstance(body, dict):
        problem_type = body.get("type")
        problem_type = problem_type if isinstance(problem_type, str) else "about:blank"
        cls = error_class(status=status, problem_type=problem_type)
        title = body.get("title")
        detail = body.get("detail")
        instance = body.get("instance")
        return cls(
            str(detail) if detail is not None else None,
            status=status,
            type=problem_type,
            title=str(title) if title is not None else response.reason_phrase,
            instance=str(instance) if instance is not None else None,
            extras={k: v for k, v in body.items() if k not in _STANDARD_MEMBERS},
            retry_after=_retry_after(response),
        )
    cls = error_class(status=status, problem_type=None)
    text = response.text.strip()[:500]
    return cls(
        text or response.reason_phrase,
        status=status,
        type="about:blank",
        title=response.reason_phrase or None,
        instance=response.request.url.path,
        retry_after=_retry_after(response),
    )


def error_from_database(exc: BaseException) -> QueueServiceError | None:
    """Return the client error for a database driver's exception, or None if it is not one.

    Reads the SQLSTATE the way psycopg 3 (`sqlstate`) and psycopg2 (`pgcode`)
    expose it, on the exception or its cause (Django and SQLAlchemy wrap the
    driver's). Class `QS` are `queue.enqueue*`'s refusals; class 22 is a value
    the database cannot hold (U+0000 in a string), as the API answers it.
    """
    for candidate in (exc, exc.__cause__, getattr(exc, "orig", None)):
        if candidate is None:
            continue
        sqlstate = getattr(candidate, "sqlstate", None) or getattr(
            candidate, "pgcode", None
        )
        if not isinstance(sqlstate, str):
            continue
        cls = _BY_SQLSTATE.get(sqlstate)
        if cls is None and sqlstate.startswith("22"):
            cls = ValueRefused
        if cls is None:
            return None
        diag = getattr(candidate, "diag", None)
        message = getattr(diag, "message_primary", None) or str(candidate)
        return cls(str(message), sqlstate=sqlstate)
    return None
