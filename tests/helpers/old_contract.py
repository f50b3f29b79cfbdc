"""The old service's documented contract, checked against our responses.

`assert_old_shape(body, example)` asserts that a response carries every field
of an example response copied from the old documentation, with the old JSON
type; fields of ours beside them are fine. Where we keep a different type on
purpose, the test names the field's path in `kept` with the type we answer
(and says why beside it). Paths: `jobs[].jobId` is the `jobId` of every item of
`jobs`; `[]` alone is the items of a top-level list.

The seeding helpers move jobs the way the service does, through its own SQL:
`queue.enqueue`, then a worker's claim (`queue.fetch_jobs`), start
(`queue.mark_jobs_started`) and completion (`queue.finish_jobs`).
"""

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

API = "/api/v1/queue"

# Stand-ins for the old documentation's "uuid" placeholders: the payload
# models want real UUIDs, as the old ones' types said.
USER = "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02"
VENUE = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"
EVENT = "a3c5e7f9-1b2d-4f6a-8c0e-2a4c6e8f0b03"
TICKET = "5d7f9b1c-2e4a-4c6e-8a0c-3e5a7c9e1b04"


def json_type(value: object) -> str:
    """Return the JSON type of a decoded value (an int and a float are both numbers)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def shape_problems(
    actual: object, example: object, kept: dict[str, str], path: str = ""
) -> list[str]:
    """Return how `actual` falls short of `example`: missing fields, other types.

    A null in an example says only that the field is there (the old service
    answered null until it had a value). A non-empty example list checks every
    item of the actual list against its first item, and wants at least one.
    """
    where = path or "$"
    if path in kept:
        got = json_type(actual)
        return [] if got == kept[path] else [f"{where}: {got}, kept as {kept[path]}"]
    if example is None:
        return []
    want, got = json_type(example), json_type(actual)
    if got != want:
        return [f"{where}: {got}, the old service answered {want}"]
    problems: list[str] = []
    if isinstance(example, dict) and isinstance(actual, dict):
        for key, value in example.items():
            field = f"{path}.{key}" if path else key
            if key not in actual:
                problems.append(f"{field}: missing")
            else:
                problems += shape_problems(actual[key], value, kept, field)
    elif isinstance(example, list) and example and isinstance(actual, list):
        if not actual:
            problems.append(f"{where}: empty, so its items' shape is not shown")
        for item in actual:
            problems += shape_problems(item, example[0], kept, f"{path}[]")
    return problems


def assert_old_shape(
    body: object, example: object, *, kept: dict[str, str] | None = None
) -> None:
    """Assert that `body` carries every field of the old `example` with its JSON type."""
    problems = shape_problems(body, example, kept or {})
    assert not problems, "\n".join(problems)


def sql(dsn: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement in its own committed transaction; return its rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)  # type: ignore[arg-type]
        return cursor.fetchall() if cursor.description else []


def enqueue(dsn: str, queue: str, job_type: str, data: dict[str, Any]) -> int:
    """Enqueue a job as an SQL producer does; return its id."""
    rows = sql(
        dsn,
        "SELECT job_id FROM queue.enqueue(%s, %s, %s)",
        (queue, job_type, Jsonb(data)),
    )
    return int(rows[0][0])


def add_worker(dsn: str, queue: str) -> int:
    """Register a worker on `queue`, as a worker process does at start; return its id."""
    (worker,) = sql(dsn, "SELECT worker_id FROM procrastinate_register_worker_v1()")[0]
    sql(
        dsn,
        "INSERT INTO queue.worker_queues (worker_id, queue_name) VALUES (%s, %s)",
        (worker, queue),
    )
    return int(worker)


def claim(dsn: str, queue: str, worker: int) -> list[int]:
    """Claim the queue's due jobs for `worker` and start them; return their ids."""
    ids = [
        int(job_id)
        for (job_id,) in sql(
            dsn, "SELECT id FROM queue.fetch_jobs(%s, %s, 100)", (queue, worker)
        )
    ]
    sql(dsn, "SELECT queue.mark_jobs_started(%s, %s)", (ids, worker))
    return ids


def finish(
    dsn: str,
    job_id: int,
    worker: int,
    status: str,
    *,
    error: tuple[str, str] | None = None,
) -> None:
    """Complete a running job's attempt as the completion writer does."""
    error_type, message = error or (None, None)
    sql(
        dsn,
        "SELECT queue.finish_jobs(ARRAY[%s]::bigint[], ARRAY[%s]::procrastinate_job_status[],"
        " ARRAY[%s]::text[], ARRAY[%s]::text[], '{NULL}', ARRAY[now() - interval '2 seconds'],"
        " ARRAY[now()], ARRAY[%s]::bigint[])",
        (job_id, status, error_type, message, worker),
    )


def run_to(
    dsn: str, queue: str, status: str, *, error: tuple[str, str] | None = None
) -> list[int]:
    """Claim every due job of `queue` and finish each with `status`; return their ids."""
    worker = add_worker(dsn, queue)
    ids = claim(dsn, queue, worker)
    for job_id in ids:
        finish(dsn, job_id, worker, status, error=error)
    return ids
