"""Enqueue on your own database connection, inside your own transaction.

`enqueue_sql` and `enqueue_many_sql` call the service's SQL functions
`queue.enqueue` and `queue.enqueue_many` on the connection you pass: the job
exists if and only if your transaction commits, and a rollback leaves none.
The connection's role needs `queue_producer` (EXECUTE on those functions).

They take any DB-API connection whose driver reads `%(name)s` parameters:
psycopg 3 (`Connection`; `AsyncConnection` with the `_async` variants),
psycopg2, Django's `connection`. The SQL text (`ENQUEUE_SQL`, and
`ENQUEUE_SQL_NAMED` with `:name` parameters for SQLAlchemy's `text()`) and
the parameters (`enqueue_params`) are public, for callers that run the
statement themselves. Every value is sent as text or a number and cast in
the statement, so no driver needs a JSON adapter.

A refusal of the SQL function (SQLSTATE class `QS`) is raised as the
`QueueServiceError` subclass the HTTP API answers it with (`InvalidJobData`
for QS004...), with the driver's exception as its cause; the transaction is
then aborted, as after any SQL error.
"""

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, LiteralString, Protocol, TypedDict, Unpack, overload

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from queue_service_client.errors import error_from_database
from queue_service_client.payloads import Payload
from queue_service_client.schemas import (
    Dependency,
    OnDuplicate,
    UniqueWhile,
    dependencies,
    resolve,
)

# Named notation: the function's public signature is its parameter names
# (a new signature is a new function, never a change in place).
ENQUEUE_SQL: LiteralString = """\
SELECT job_id, duplicate FROM queue.enqueue(
    queue => %(queue)s,
    job_type => %(job_type)s,
    data => CAST(%(data)s AS jsonb),
    priority => CAST(%(priority)s AS integer),
    run_at => CAST(%(run_at)s AS timestamptz),
    idempotency_key => %(idempotency_key)s,
    meta => CAST(%(meta)s AS jsonb),
    key_scope => %(key_scope)s,
    ordering_key => %(ordering_key)s,
    concurrency_key => %(concurrency_key)s,
    depends_on => CAST(%(depends_on)s AS jsonb),
    unique_while => %(unique_while)s,
    on_duplicate => %(on_duplicate)s
)"""

ENQUEUE_MANY_SQL: LiteralString = """\
SELECT job_index, job_id, duplicate
FROM queue.enqueue_many(CAST(%(jobs)s AS jsonb))
ORDER BY job_index"""


def _named(statement: str) -> str:
    return re.sub(r"%\((\w+)\)s", r":\1", statement)


# The same statements with `:name` parameters, for SQLAlchemy's `text()`.
ENQUEUE_SQL_NAMED = _named(ENQUEUE_SQL)
ENQUEUE_MANY_SQL_NAMED = _named(ENQUEUE_MANY_SQL)


class SqlArgs(TypedDict, total=False):
    """The keyword arguments of one job enqueued in SQL (`queue.enqueue`'s parameters).

    - `queue`: the job's queue; a known job type's by default.
    - `priority`: 1-10, higher runs first; the type's default if unset.
    - `run_at`: when the job may run (timezone-aware); now if unset.
    - `idempotency_key`: dedupes the job; rendered from the type's template if unset.
    - `key_scope`: your own key space (1-64 of `A-Za-z0-9_-`), such as "orders".
    - `ordering_key`: jobs of one key run one at a time, in enqueue order.
    - `concurrency_key`: at most the queue's key_concurrency jobs of one key run at once.
    - `depends_on`: jobs this one waits for: ids, or `Dependency(index=...)` in a call.
    - `unique_while`: how long the idempotency key stays unique.
    - `on_duplicate`: "replace" lets a duplicate replace a waiting job (debounce).
    - `meta`: a JSON object stored with the job (`request_id`, `user_id`, ...).
    - `traceparent`: a W3C trace context, stored as the meta key `traceparent`.
    """

    queue: str
    priority: int
    run_at: datetime
    idempotency_key: str
    key_scope: str
    ordering_key: str
    concurrency_key: str
    depends_on: Sequence[int | Dependency]
    unique_while: UniqueWhile
    on_duplicate: OnDuplicate
    meta: Mapping[str, JsonValue]
    traceparent: str


class SqlJob(BaseModel):
    """One job of `enqueue_many_sql`, as `queue.enqueue_many` takes it. Build it with `sql_job(...)`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str
    job_type: str = Field(min_length=1)
    data: dict[str, JsonValue]
    priority: int | None = None
    run_at: datetime | None = None
    idempotency_key: str | None = None
    key_scope: str | None = None
    ordering_key: str | None = None
    concurrency_key: str | None = None
    depends_on: tuple[Dependency, ...] | None = None
    unique_while: UniqueWhile | None = None
    on_duplicate: OnDuplicate | None = None
    meta: dict[str, JsonValue] | None = None

    def to_sql(self) -> dict[str, JsonValue]:
        """Return the job as an element of `queue.enqueue_many`'s array."""
        body: dict[str, JsonValue] = self.model_dump(
            mode="json", exclude_none=True, exclude={"depends_on"}
        )
        if self.depends_on:
            body["depends_on"] = [d.to_sql() for d in self.depends_on]
        return body


class EnqueueResult(BaseModel):
    """The job a SQL enqueue made, or found under its idempotency key (`duplicate`)."""

    model_config = ConfigDict(frozen=True)

    job_id: int
    duplicate: bool
    job_index: int = 0


@overload
def sql_job(payload: Payload, /, **args: Unpack[SqlArgs]) -> SqlJob: ...


@overload
def sql_job(
    job_type: str, data: Mapping[str, JsonValue], /, **args: Unpack[SqlArgs]
) -> SqlJob: ...


def sql_job(
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None = None,
    /,
    **args: Unpack[SqlArgs],
) -> SqlJob:
    """Return one job for SQL: a payload model, or a job type and its data.

    Raises:
        ValueError: no queue for a job type this client does not know, or a
            naive `run_at`.
    """
    job_type, payload, queue = resolve(job_type_or_payload, data, args.get("queue"))
    if queue is None:
        raise ValueError(
            f"job type {job_type!r} is not one this client knows: give its queue"
        )
    run_at = args.get("run_at")
    if run_at is not None and run_at.tzinfo is None:
        raise ValueError("run_at must be timezone-aware")
    meta: dict[str, JsonValue] | None = dict(args.get("meta") or {}) or None
    traceparent = args.get("traceparent")
    if traceparent is not None:
        meta = {**(meta or {}), "traceparent": traceparent}
    depends_on = args.get("depends_on")
    return SqlJob(
        queue=queue,
        job_type=job_type,
        data=payload,
        priority=args.get("priority"),
        run_at=run_at,
        idempotency_key=args.get("idempotency_key"),
        key_scope=args.get("key_scope"),
        ordering_key=args.get("ordering_key"),
        concurrency_key=args.get("concurrency_key"),
        depends_on=dependencies(depends_on) if depends_on else None,
        unique_while=args.get("unique_while"),
        on_duplicate=args.get("on_duplicate"),
        meta=meta,
    )


def _json(value: object) -> str:
    # Compact and ASCII-safe; U+0000 stays an escape the database refuses
    # (22P05), raised as ValueRefused.
    return json.dumps(value, separators=(",", ":"))


def job_params(job: SqlJob) -> dict[str, Any]:
    """Return `ENQUEUE_SQL`'s parameters for one job: text, numbers, a datetime or None."""
    return {
        "queue": job.queue,
        "job_type": job.job_type,
        "data": _json(job.data),
        "priority": job.priority,
        "run_at": job.run_at,
        "idempotency_key": job.idempotency_key,
        "meta": _json(job.meta or {}),
        "key_scope": job.key_scope,
        "ordering_key": job.ordering_key,
        "concurrency_key": job.concurrency_key,
        "depends_on": (
            _json([d.to_sql() for d in job.depends_on]) if job.depends_on else None
        ),
        "unique_while": job.unique_while,
        "on_duplicate": job.on_duplicate,
    }


@overload
def enqueue_params(payload: Payload, /, **args: Unpack[SqlArgs]) -> dict[str, Any]: ...


@overload
def enqueue_params(
    job_type: str, data: Mapping[str, JsonValue], /, **args: Unpack[SqlArgs]
) -> dict[str, Any]: ...


def enqueue_params(
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None = None,
    /,
    **args: Unpack[SqlArgs],
) -> dict[str, Any]:
    """Return `ENQUEUE_SQL`'s parameters: a payload model, or a job type and its data."""
    return job_params(_sql_job(job_type_or_payload, data, args))


def enqueue_many_params(jobs: Sequence[SqlJob | Payload]) -> dict[str, Any]:
    """Return `ENQUEUE_MANY_SQL`'s parameters for jobs (`sql_job(...)` or payload models)."""
    return {"jobs": _json([_as_sql_job(job).to_sql() for job in jobs])}


def _sql_job(
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None,
    args: SqlArgs,
) -> SqlJob:
    if isinstance(job_type_or_payload, Payload):
        if data is not None:
            raise TypeError("a payload model carries its data: pass no data")
        return sql_job(job_type_or_payload, **args)
    if data is None:
        raise TypeError(f"job type {job_type_or_payload!r} needs its data")
    return sql_job(job_type_or_payload, data, **args)


def _as_sql_job(item: SqlJob | Payload) -> SqlJob:
    return item if isinstance(item, SqlJob) else sql_job(item)


def read_row(row: object, *, index: int = 0) -> EnqueueResult:
    """Return a row of `ENQUEUE_SQL` or `ENQUEUE_MANY_SQL`, as a tuple or a mapping."""
    if isinstance(row, Mapping):
        return EnqueueResult(
            job_id=row["job_id"],
            duplicate=row["duplicate"],
            job_index=row.get("job_index", index),
        )
    if isinstance(row, Sequence):
        if len(row) == 3:
            return EnqueueResult(job_index=row[0], job_id=row[1], duplicate=row[2])
        return EnqueueResult(job_id=row[0], duplicate=row[1], job_index=index)
    raise TypeError(f"cannot read an enqueue row of type {type(row).__name__}")


class Cursor(Protocol):
    """A DB-API cursor (psycopg 3, psycopg2, Django's cursor wrapper)."""

    def execute(self, query: LiteralString, params: Mapping[str, Any], /) -> object:
        """Run a statement."""

    def fetchall(self) -> Sequence[Any]:
        """Return the remaining rows."""

    def close(self) -> None:
        """Close the cursor."""


class Connection(Protocol):
    """A DB-API connection whose cursors read `%(name)s` parameters."""

    def cursor(self) -> Cursor:
        """Return a new cursor."""


class AsyncCursor(Protocol):
    """An async cursor (psycopg 3's `AsyncCursor`)."""

    async def execute(
        self, query: LiteralString, params: Mapping[str, Any], /
    ) -> object:
        """Run a statement."""

    async def fetchall(self) -> Sequence[Any]:
        """Return the remaining rows."""

    async def close(self) -> None:
        """Close the cursor."""


class AsyncConnection(Protocol):
    """An async connection (psycopg 3's `AsyncConnection`)."""

    def cursor(self) -> AsyncCursor:
        """Return a new cursor."""


def run(
    conn: Connection, statement: LiteralString, params: Mapping[str, Any]
) -> list[Any]:
    """Run one statement on `conn` and return its rows, service errors translated.

    Raises:
        QueueServiceError: the subclass of a refusal by the SQL function.
    """
    cursor = conn.cursor()
    try:
        cursor.execute(statement, params)
        return list(cursor.fetchall())
    except Exception as exc:
        error = error_from_database(exc)
        if error is None:
            raise
        raise error from exc
    finally:
        cursor.close()


async def run_async(
    conn: AsyncConnection, statement: LiteralString, params: Mapping[str, Any]
) -> list[Any]:
    """Run one statement on an async `conn`; see `run`."""
    cursor = conn.cursor()
    try:
        await cursor.execute(statement, params)
        return list(await cursor.fetchall())
    except Exception as exc:
        error = error_from_database(exc)
        if error is None:
            raise
        raise error from exc
    finally:
        await cursor.close()


@overload
def enqueue_sql(
    conn: Connection, payload: Payload, /, **args: Unpack[SqlArgs]
) -> EnqueueResult: ...


@overload
def enqueue_sql(
    conn: Connection,
    job_type: str,
    data: Mapping[str, JsonValue],
    /,
    **args: Unpack[SqlArgs],
) -> EnqueueResult: ...


def enqueue_sql(
    conn: Connection,
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None = None,
    /,
    **args: Unpack[SqlArgs],
) -> EnqueueResult:
    """Enqueue one job with `queue.enqueue` on `conn`, in its current transaction.

    Args:
        conn: Your connection; the job commits or rolls back with its transaction.
        job_type_or_payload: A payload model, or the name of a job type.
        data: The job's data, with a job type's name only.
        **args: `queue` (required for a job type this client does not know),
            the job's options, `meta` and `traceparent` (`SqlArgs`).

    Returns:
        The job's id; `duplicate` when its idempotency key already named a job.

    Raises:
        QueueServiceError: the subclass of the SQL function's refusal.
    """
    params = job_params(_sql_job(job_type_or_payload, data, args))
    (row,) = run(conn, ENQUEUE_SQL, params)
    return read_row(row)


def enqueue_many_sql(
    conn: Connection, jobs: Sequence[SqlJob | Payload]
) -> list[EnqueueResult]:
    """Enqueue jobs with `queue.enqueue_many` on `conn`: all or nothing, in input order.

    `Dependency(index=i)` in a job's `depends_on` names the i-th job of the call.

    Raises:
        QueueServiceError: the subclass of the refusal, whose detail names the
            job (`jobs[3]: ...`).
    """
    rows = run(conn, ENQUEUE_MANY_SQL, enqueue_many_params(jobs))
    return [read_row(row, index=i) for i, row in enumerate(rows)]


@overload
async def enqueue_sql_async(
    conn: AsyncConnection, payload: Payload, /, **args: Unpack[SqlArgs]
) -> EnqueueResult: ...


@overload
async def enqueue_sql_async(
    conn: AsyncConnection,
    job_type: str,
    data: Mapping[str, JsonValue],
    /,
    **args: Unpack[SqlArgs],
) -> EnqueueResult: ...


async def enqueue_sql_async(
    conn: AsyncConnection,
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None = None,
    /,
    **args: Unpack[SqlArgs],
) -> EnqueueResult:
    """Enqueue one job on an async connection; see `enqueue_sql`."""
    params = job_params(_sql_job(job_type_or_payload, data, args))
    (row,) = await run_async(conn, ENQUEUE_SQL, params)
    return read_row(row)


async def enqueue_many_sql_async(
    conn: AsyncConnection, jobs: Sequence[SqlJob | Payload]
) -> list[EnqueueResult]:
    """Enqueue jobs on an async connection, all or nothing; see `enqueue_many_sql`."""
    rows = await run_async(conn, ENQUEUE_MANY_SQL, enqueue_many_params(jobs))
    return [read_row(row, index=i) for i, row in enumerate(rows)]
