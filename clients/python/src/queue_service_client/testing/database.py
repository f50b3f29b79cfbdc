"""Assertions on a real database: what the SQL helpers enqueued, read from `queue.jobs`."""

import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal, LiteralString

from queue_service_client.payloads import Payload
from queue_service_client.sql import AsyncConnection, Connection, run, run_async
from queue_service_client.testing.matching import (
    not_enqueued_message,
    show,
    type_name,
    wire_subset,
)

_FIND_SQL: LiteralString = """\
SELECT id, data::text FROM queue.jobs
WHERE job_type = %(job_type)s
  AND data @> CAST(%(subset)s AS jsonb)
  AND (CAST(%(state)s AS text) IS NULL OR state = %(state)s)
ORDER BY id"""

_RECENT_SQL: LiteralString = """\
SELECT id, data::text FROM queue.jobs
WHERE job_type = %(job_type)s
ORDER BY id DESC
LIMIT 20"""

_TYPES_SQL: LiteralString = """\
SELECT DISTINCT job_type FROM queue.jobs ORDER BY job_type LIMIT 50"""

SqlState = Literal["todo", "doing", "succeeded", "failed", "cancelled", "aborted"]


def _cell(row: object, index: int, name: str) -> Any:
    if isinstance(row, Mapping):
        return row[name]
    if isinstance(row, Sequence):
        return row[index]
    raise TypeError(f"cannot read a row of type {type(row).__name__}")


def _sql_params(
    job_type: str | type[Payload],
    data_subset: Mapping[str, object],
    state: SqlState | None,
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    name = type_name(job_type)
    subset = wire_subset(name, data_subset)
    return (
        name,
        subset,
        {"job_type": name, "subset": json.dumps(subset), "state": state},
    )


def _sql_failure(
    name: str,
    subset: Mapping[str, Any],
    recent: Sequence[object],
    types: Sequence[object],
) -> AssertionError:
    candidates = [
        (int(_cell(row, 0, "id")), json.loads(_cell(row, 1, "data"))) for row in recent
    ]
    return AssertionError(
        not_enqueued_message(
            name, subset, candidates, [str(_cell(row, 0, "job_type")) for row in types]
        )
    )


def assert_enqueued_sql(
    conn: Connection,
    job_type: str | type[Payload],
    data_subset: Mapping[str, object] | None = None,
    *,
    state: SqlState | None = None,
) -> int:
    """Assert the database holds a job of `job_type` whose data contains `data_subset`; return its id.

    It reads the view `queue.jobs` on `conn` (whose role needs `queue_reader`),
    so in your own transaction it sees jobs you have not committed yet, and
    on another connection only committed ones. Keys are a known type's
    attribute names or wire keys; matching is jsonb's `@>`.

    Args:
        conn: A DB-API connection (psycopg 3 `Connection`, psycopg2, Django's).
        job_type: A payload model class, or a job type's name.
        data_subset: Keys and values the job's data must contain.
        state: The job's stored state as well (`todo`, `succeeded`, ...).

    Raises:
        AssertionError: none does, listing the latest jobs of that type.
    """
    name, subset, params = _sql_params(job_type, data_subset or {}, state)
    found = run(conn, _FIND_SQL, params)
    if found:
        return int(_cell(found[0], 0, "id"))
    recent = run(conn, _RECENT_SQL, {"job_type": name})
    types = run(conn, _TYPES_SQL, {}) if not recent else []
    raise _sql_failure(name, subset, recent, types)


def refute_enqueued_sql(
    conn: Connection,
    job_type: str | type[Payload],
    data_subset: Mapping[str, object] | None = None,
    *,
    state: SqlState | None = None,
) -> None:
    """Assert the database holds no job of `job_type` whose data contains `data_subset`.

    Raises:
        AssertionError: it does, naming the job.
    """
    name, subset, params = _sql_params(job_type, data_subset or {}, state)
    found = run(conn, _FIND_SQL, params)
    if found:
        raise AssertionError(
            f"a {name} job with data containing {show(subset)} is in queue.jobs: "
            f"job {_cell(found[0], 0, 'id')}: {_cell(found[0], 1, 'data')}"
        )


async def assert_enqueued_sql_async(
    conn: AsyncConnection,
    job_type: str | type[Payload],
    data_subset: Mapping[str, object] | None = None,
    *,
    state: SqlState | None = None,
) -> int:
    """Assert on an async connection; see `assert_enqueued_sql`."""
    name, subset, params = _sql_params(job_type, data_subset or {}, state)
    found = await run_async(conn, _FIND_SQL, params)
    if found:
        return int(_cell(found[0], 0, "id"))
    recent = await run_async(conn, _RECENT_SQL, {"job_type": name})
    types = await run_async(conn, _TYPES_SQL, {}) if not recent else []
    raise _sql_failure(name, subset, recent, types)


async def refute_enqueued_sql_async(
    conn: AsyncConnection,
    job_type: str | type[Payload],
    data_subset: Mapping[str, object] | None = None,
    *,
    state: SqlState | None = None,
) -> None:
    """Refute on an async connection; see `refute_enqueued_sql`."""
    name, subset, params = _sql_params(job_type, data_subset or {}, state)
    found = await run_async(conn, _FIND_SQL, params)
    if found:
        raise AssertionError(
            f"a {name} job with data containing {show(subset)} is in queue.jobs: "
            f"job {_cell(found[0], 0, 'id')}: {_cell(found[0], 1, 'data')}"
        )
