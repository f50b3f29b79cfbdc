"""The rows of `queue.job_types` that the job-type catalogue owns.

`migrate` writes one row per catalogued type (`app.domain.job_types`, the
plugins' types included), so `queue.enqueue` and `queue.explain_job` know
exactly what the service runs. A row whose values already match is left
untouched; rows of types an operator added in SQL are left alone. A type
whose queue, bucket or provider the database lacks is refused first, naming
where the type comes from. Internal to `app.db`.
"""

from collections.abc import Iterable, Sequence
from typing import LiteralString

import psycopg

from app.domain.job_type_plugins import origin
from app.domain.job_types import JobType

_UPSERT = """
INSERT INTO queue.job_types AS t (
    name, queue, default_priority, idempotency_key_template, keep_succeeded, provider,
    bucket, description, ordering_key_template
)
VALUES (%(name)s, %(queue)s, %(default_priority)s, %(key_template)s, %(keep_succeeded)s,
        %(provider)s, %(bucket)s, %(description)s, %(ordering_template)s)
ON CONFLICT ON CONSTRAINT job_types_pkey DO UPDATE
SET queue = EXCLUDED.queue,
    default_priority = EXCLUDED.default_priority,
    idempotency_key_template = EXCLUDED.idempotency_key_template,
    keep_succeeded = EXCLUDED.keep_succeeded,
    provider = EXCLUDED.provider,
    bucket = EXCLUDED.bucket,
    description = EXCLUDED.description,
    ordering_key_template = EXCLUDED.ordering_key_template
WHERE (t.queue, t.default_priority, t.idempotency_key_template, t.keep_succeeded,
       t.provider, t.bucket, t.description, t.ordering_key_template)
      IS DISTINCT FROM
      (EXCLUDED.queue, EXCLUDED.default_priority, EXCLUDED.idempotency_key_template,
       EXCLUDED.keep_succeeded, EXCLUDED.provider, EXCLUDED.bucket, EXCLUDED.description,
       EXCLUDED.ordering_key_template)
RETURNING t.name
"""


class JobTypeRowRefused(RuntimeError):
    """A catalogued type names a queue, bucket or provider the database does not have."""


def write_job_types(
    conn: psycopg.Connection[tuple[object, ...]], job_types: Iterable[JobType]
) -> list[str]:
    """Make the catalogued types' rows say what the catalogue says; return those written.

    Raises:
        JobTypeRowRefused: a type's queue, bucket or provider does not exist.
    """
    job_types = list(job_types)
    check_references(conn, job_types)
    written = []
    for job_type in job_types:
        row = conn.execute(
            _UPSERT,
            {
                "name": job_type.name,
                "queue": job_type.queue,
                "default_priority": job_type.default_priority,
                "key_template": job_type.key_template,
                "keep_succeeded": job_type.keep_succeeded,
                "provider": job_type.provider,
                "bucket": job_type.bucket,
                "description": job_type.description,
                "ordering_template": job_type.ordering_template,
            },
        ).fetchone()
        if row is not None:
            written.append(str(row[0]))
    return written


def check_references(
    conn: psycopg.Connection[tuple[object, ...]], job_types: Sequence[JobType]
) -> None:
    """Refuse a type whose queue, bucket or provider (breaker) does not exist.

    Raises:
        JobTypeRowRefused: naming the type, where it comes from, and what exists.
    """
    for what, table, query in _REFERENCES:
        known = {str(name) for (name,) in conn.execute(query)}
        for job_type in job_types:
            name = getattr(job_type, what)
            if name is not None and name not in known:
                raise JobTypeRowRefused(
                    f"job type {job_type.name} ({origin(job_type.name)}) names"
                    f" {what} {name}, which {table} does not have"
                    f" (it has: {', '.join(sorted(known))}); add it there first,"
                    " or name one of these"
                )


# What a type's row refers to: its field, the table, the names there.
_REFERENCES: tuple[tuple[str, str, LiteralString], ...] = (
    ("queue", "queue.queues", "SELECT name FROM queue.queues"),
    ("bucket", "queue.rate_limits", "SELECT name FROM queue.rate_limits"),
    (
        "provider",
        "queue.circuit_breakers",
        "SELECT provider FROM queue.circuit_breakers",
    ),
)
