"""Translate database errors into the service's errors.

Every query wrapper runs inside `translate_errors()`, so nothing above `app.db`
catches psycopg errors. SQLSTATEs of class QS are raised by `queue.enqueue*`.
"""

import contextlib
from collections.abc import Iterator

import psycopg
from psycopg_pool import PoolTimeout

from app.domain import errors

# The database cannot serve now: lost or refused connections, an
# administrator's shutdown, statement and lock timeouts, no connection free in
# time. Retrying later may succeed; the API answers 503.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    PoolTimeout,
)

SQLSTATE_ERRORS: dict[str, type[errors.ServiceError]] = {
    "QS001": errors.UnknownQueue,
    "QS002": errors.UnknownJobType,
    "QS003": errors.JobTypeNotInQueue,
    "QS004": errors.InvalidJobData,
    "QS005": errors.JobDataTooLarge,
    "QS006": errors.MissingIdempotencyKeyField,
    "QS007": errors.InvalidPriority,
    "QS008": errors.IdempotencyKeyConflict,
    "QS009": errors.InvalidEnqueueRequest,
    "QS010": errors.InvalidEnqueueRequest,
    "QS011": errors.InvalidEnqueueRequest,
    "QS012": errors.InvalidJobTransition,
    "QS013": errors.JobNotFound,
    "QS014": errors.SideEffectConflict,
    "QS015": errors.UnknownRateLimit,
    "QS016": errors.InvalidDependency,
    # A check constraint of ours: an edit of policy breaks one of its rules.
    "23514": errors.RuleViolated,
}


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise psycopg errors with a SQLSTATE of ours as service errors."""
    try:
        yield
    except psycopg.Error as exc:
        sqlstate = exc.sqlstate or ""
        error = SQLSTATE_ERRORS.get(sqlstate)
        if error is None and (
            sqlstate.startswith("22") or isinstance(exc, psycopg.DataError)
        ):
            # A data exception: a value the caller sent that the database
            # cannot hold (U+0000 in text, which psycopg itself refuses to
            # send, an out-of-range number...).
            error = errors.ValueRefused
        if error is None:
            raise
        message = exc.diag.message_primary or str(exc)
        if exc.diag.constraint_name:
            message = f"{message} ({exc.diag.constraint_name})"
        raise error(message, sqlstate=exc.sqlstate) from exc


def unavailable_reason(exc: Exception) -> str:
    """Say in a few words why the database could not serve (for a 503's detail)."""
    if isinstance(exc, PoolTimeout):
        return "no database connection was free in time"
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return "the statement took too long"
    if isinstance(exc, psycopg.errors.LockNotAvailable):
        return "a lock it needs is held"
    return "the connection to it failed"
