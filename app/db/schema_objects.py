"""Repeatable SQL: the current definition of each function, view and trigger.

Every function, view and trigger of schema `queue` has exactly one file under
`sql/functions`, `sql/views` or `sql/triggers`, written so that it can run again
(`CREATE OR REPLACE`, then its grants and comment). The numbered migrations keep
what holds data: tables, types, indexes, seeds. `migrate` applies an object file
when its checksum is not the one recorded, after the numbered migrations and
under the same advisory lock, and all changed files in one transaction: a
deploy sees every new definition or none.

Internal to `app.db`; not a stable API.
"""

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import errors

logger = logging.getLogger(__name__)

# Applied in this order: views read functions, triggers call functions.
KINDS = ("functions", "views", "triggers")

# What a definition raises when an object it reads is defined by a file that
# has not run yet.
_MISSING_DEPENDENCY = (
    errors.UndefinedTable,
    errors.UndefinedFunction,
    errors.UndefinedObject,
)


class SchemaObjectError(RuntimeError):
    """An object file could not be applied."""


@dataclass(frozen=True)
class ObjectFile:
    """The definition of one function, view or trigger."""

    path: str  # relative to the sql directory, e.g. "functions/enqueue.sql"
    sql: str

    @property
    def checksum(self) -> str:
        """Return the SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


def read_objects(root: Path) -> tuple[ObjectFile, ...]:
    """Return the object files under `root`, in kind order, then name order."""
    return tuple(
        ObjectFile(path=f"{kind}/{path.name}", sql=path.read_text())
        for kind in KINDS
        for path in sorted((root / kind).glob("*.sql"))
    )


def pending_objects(
    objects: Sequence[ObjectFile], recorded: dict[str, str]
) -> list[ObjectFile]:
    """Return the files whose text is not the one recorded as applied."""
    return [obj for obj in objects if recorded.get(obj.path) != obj.checksum]


def apply_objects(
    conn: psycopg.Connection[tuple[object, ...]], objects: Sequence[ObjectFile]
) -> None:
    """Run `objects`, each file after the files it depends on.

    Dependencies are not declared: a view may read another view or a SQL
    function of another file. Files run in kind and name order; one whose
    dependency is missing is rolled back to its savepoint and tried again once
    the others have run. A round that makes no progress is a real error.

    Raises:
        SchemaObjectError: a file failed, or its dependency is never defined.
    """
    waiting = list(objects)
    while waiting:
        deferred: list[tuple[ObjectFile, psycopg.Error]] = []
        for obj in waiting:
            try:
                with conn.transaction():
                    # Object files are trusted text from the repository.
                    conn.execute(obj.sql.encode())
            except _MISSING_DEPENDENCY as exc:
                deferred.append((obj, exc))
            except psycopg.Error as exc:
                raise SchemaObjectError(f"SQL object {obj.path} failed: {exc}") from exc
            else:
                logger.debug(
                    "Applied SQL object.",
                    extra={"action": "schema_object_applied", "file": obj.path},
                )
        if len(deferred) == len(waiting):
            stuck, error = deferred[0]
            raise SchemaObjectError(
                f"SQL object {stuck.path} failed: {error}"
            ) from error
        waiting = [obj for obj, _ in deferred]
