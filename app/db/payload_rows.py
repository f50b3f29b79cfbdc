"""The rows of `queue.payload_fields` that the catalogue's payload models own.

`migrate` writes them after the job types' rows, in the same transaction: a
type's rows are replaced when they differ from what its model says, left
alone when they match, and deleted when the type has no model. Types added in
SQL have none. Internal to `app.db`.
"""

import dataclasses
import json
from collections.abc import Iterable

import psycopg
from psycopg import sql

from app.domain.job_types import JobType
from app.domain.payload_rules import FieldRule, field_rules, one_of

_COLUMNS = [field.name for field in dataclasses.fields(FieldRule)]
_LIST = sql.SQL(", ").join(sql.Identifier(column) for column in _COLUMNS)
_SELECT = sql.SQL(
    "SELECT {} FROM queue.payload_fields WHERE job_type = %s ORDER BY position"
).format(_LIST)
_INSERT = sql.SQL(
    "INSERT INTO queue.payload_fields (job_type, {}) VALUES (%s, {})"
).format(_LIST, sql.SQL(", ").join(sql.Placeholder() for _ in _COLUMNS))


def write_payload_fields(
    conn: psycopg.Connection[tuple[object, ...]], job_types: Iterable[JobType]
) -> list[str]:
    """Make the catalogued types' field rules say what their models say; return those written."""
    written = []
    for job_type in job_types:
        rules = field_rules(job_type.payload) if job_type.payload else []
        groups = one_of(job_type.payload) if job_type.payload else None
        wanted = [_row(rule) for rule in rules]
        stored = conn.execute(_SELECT, (job_type.name,)).fetchall()
        changed_groups = conn.execute(
            "UPDATE queue.job_types SET payload_one_of = %s"
            " WHERE name = %s AND payload_one_of IS DISTINCT FROM %s::jsonb RETURNING name",
            (
                json.dumps(groups) if groups else None,
                job_type.name,
                json.dumps(groups) if groups else None,
            ),
        ).fetchone()
        if [tuple(row) for row in stored] == wanted and changed_groups is None:
            continue
        conn.execute(
            "DELETE FROM queue.payload_fields WHERE job_type = %s", (job_type.name,)
        )
        for row in wanted:
            conn.execute(_INSERT, (job_type.name, *row))
        written.append(f"{job_type.name} payload")
    return written


def _row(rule: FieldRule) -> tuple[object, ...]:
    values = dataclasses.astuple(rule)
    # Arrays as lists, numbers as the database returns them, for the comparison.
    return tuple(list(v) if isinstance(v, tuple) else v for v in values)
