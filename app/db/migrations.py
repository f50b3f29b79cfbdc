"""The migration runner: procrastinate's schema and ours, in two lines.

Each line is an ordered list of SQL files. Applied files are recorded in
`queue.schema_migrations` with a checksum; an applied file whose text changed is
refused. A line may have a baseline: the whole schema, applied to an empty
database instead of replaying every file (procrastinate ships one). Our line
also has object files (`app.db.schema_objects`): the current definition of each
function, view and trigger, applied again whenever its text changes.
"""

import hashlib
import logging
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import psycopg

from app.db.job_type_rows import write_job_types
from app.db.payload_rows import write_payload_fields
from app.db.schema_objects import (
    ObjectFile,
    SchemaObjectError,
    apply_objects,
    pending_objects,
    read_objects,
)
from app.db.sql_files import sql_dir
from app.domain.job_types import CATALOGUE

logger = logging.getLogger(__name__)

Phase = Literal["pre", "post"]

# Serialises concurrent `migrate` runs (several replicas starting at once).
_LOCK_KEY = 7_305_411_201
_APP_FILE_NAME = re.compile(r"^\d{4}_(pre|post)_[a-z0-9_]+\.sql$")


class MigrationError(RuntimeError):
    """The database schema cannot be migrated."""


class AppliedMigrationEditedError(MigrationError):
    """A migration file changed after it was applied."""


@dataclass(frozen=True)
class MigrationFile:
    """One SQL file of a line."""

    name: str
    sql: str
    phase: Phase = "pre"

    @property
    def checksum(self) -> str:
        """Return the SHA-256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def transactional(self) -> bool:
        """Return False when the header asks to run outside a transaction."""
        return "-- migrate: no-transaction" not in self.sql.split("\n\n", 1)[0]


@dataclass(frozen=True)
class MigrationLine:
    """An ordered series of migrations owned by one party."""

    name: str
    version: str
    files: tuple[MigrationFile, ...]
    baseline: MigrationFile | None = None
    # A table whose presence means the line's schema exists, for adopting a
    # database that was set up without this runner.
    marker_table: str | None = None
    search_path: str | None = None
    # Functions, views and triggers, applied after the files when their text
    # changed (recorded in the same table, under their path).
    objects: tuple[ObjectFile, ...] = ()
    # File name -> checksums it had before a rewrite that left the schema it
    # builds unchanged; a database that recorded one of them is up to date.
    former_checksums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Rows a line's code owns (the job-type catalogue's), written last; returns
    # the names of the rows it changed.
    rows: Callable[[psycopg.Connection[tuple[object, ...]]], list[str]] | None = None
    # Run the pending files, the object files and the rows in one transaction
    # (ours); procrastinate's files run one transaction each, as it ships them.
    atomic: bool = False


@dataclass
class MigrationReport:
    """What a run did, line by line."""

    applied: list[tuple[str, str]] = field(default_factory=list)
    baselined: list[tuple[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Return True when the run changed the database."""
        return bool(self.applied or self.baselined)


def app_line(version: str, directory: Path | None = None) -> MigrationLine:
    """Return our own line: `sql/migrations`, and the object files beside it.

    Raises:
        MigrationError: a file name does not follow `NNNN_<phase>_<description>.sql`,
            or two files share a number.
    """
    directory = directory or sql_dir() / "migrations"
    files = []
    numbers: dict[str, str] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _APP_FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(
                f"migration file {path.name} does not match NNNN_<pre|post>_<description>.sql"
            )
        number = path.name[:4]
        if number in numbers:
            raise MigrationError(
                f"migration files {numbers[number]} and {path.name} share number {number}"
            )
        numbers[number] = path.name
        phase: Phase = "post" if match.group(1) == "post" else "pre"
        files.append(MigrationFile(name=path.name, sql=path.read_text(), phase=phase))
    return MigrationLine(
        name="app",
        version=version,
        files=tuple(files),
        objects=read_objects(directory.parent),
        former_checksums=_former_checksums(directory / _FORMER_CHECKSUMS),
        rows=lambda conn: [
            *write_job_types(conn, CATALOGUE.values()),
            *write_payload_fields(conn, CATALOGUE.values()),
        ],
        atomic=True,
    )


_FORMER_CHECKSUMS = "former_checksums.toml"


def _former_checksums(path: Path) -> dict[str, frozenset[str]]:
    if not path.is_file():
        return {}
    table = tomllib.loads(path.read_text()).get("checksums", {})
    return {str(name): frozenset(map(str, sums)) for name, sums in table.items()}


_DDL = """
CREATE SCHEMA IF NOT EXISTS queue;
CREATE TABLE IF NOT EXISTS queue.schema_migrations (
    line text NOT NULL,
    name text NOT NULL,
    checksum text NOT NULL,
    version text NOT NULL,
    baseline boolean NOT NULL DEFAULT false,
    applied_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schema_migrations_pkey PRIMARY KEY (line, name)
);
COMMENT ON TABLE queue.schema_migrations IS
    'Migrations applied by queue-service migrate, per line (procrastinate, app), with checksums.';
"""


def migrate(
    dsn: str,
    lines: Sequence[MigrationLine],
    *,
    phases: Iterable[Phase] = ("pre", "post"),
) -> MigrationReport:
    """Apply every pending migration of `lines`, in order.

    Raises:
        AppliedMigrationEditedError: an applied file's checksum changed.
    """
    wanted = frozenset(phases)
    report = MigrationReport()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(_DDL)
            for line in lines:
                _migrate_line(conn, line, wanted, report)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return report


def _migrate_line(
    conn: psycopg.Connection[tuple[object, ...]],
    line: MigrationLine,
    phases: frozenset[Phase],
    report: MigrationReport,
) -> None:
    rows = conn.execute(
        "SELECT name, checksum FROM queue.schema_migrations WHERE line = %s",
        (line.name,),
    ).fetchall()
    applied = {str(name): str(checksum) for name, checksum in rows}
    for file in line.files:
        recorded = applied.get(file.name)
        if recorded is None or recorded == file.checksum:
            continue
        if recorded in line.former_checksums.get(file.name, frozenset()):
            _adopt_rewritten(conn, line, file)
            applied[file.name] = file.checksum
        else:
            raise AppliedMigrationEditedError(
                f"migration {line.name}/{file.name} was edited after it was applied "
                f"(checksum {recorded[:12]} in the database, {file.checksum[:12]} on disk); "
                "applied migrations are immutable: restore the file and add a new one"
            )

    if not applied and line.baseline is not None:
        exists = line.marker_table is not None and conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (line.marker_table,)
        ).fetchone() == (True,)
        with conn.transaction():
            if exists:
                logger.warning(
                    "Adopting an existing schema as the baseline.",
                    extra={"action": "migration_adopted", "line": line.name},
                )
            else:
                _execute(conn, line, line.baseline)
            for file in line.files:
                _record(conn, line, file, baseline=True)
                report.baselined.append((line.name, file.name))
        return

    pending = [f for f in line.files if f.name not in applied and f.phase in phases]
    if not line.atomic:
        for file in pending:
            if file.transactional:
                with conn.transaction():
                    _run_file(conn, line, file, report)
            else:
                _run_file(conn, line, file, report)
        with conn.transaction():
            _apply_objects_and_rows(conn, line, {} if pending else applied, report)
        return

    # Our line runs as one transaction: its new files, then the object files,
    # then the catalogue's rows, so that no process ever sees new tables with
    # old functions, or a function dropped and not yet made again. A file that
    # cannot run in a transaction (CREATE INDEX CONCURRENTLY) commits what
    # came before it and runs alone.
    batch: list[MigrationFile] = []
    for file in pending:
        if file.transactional:
            batch.append(file)
            continue
        with conn.transaction():
            for earlier in batch:
                _run_file(conn, line, earlier, report)
        batch = []
        _run_file(conn, line, file, report)
    with conn.transaction():
        for file in batch:
            _run_file(conn, line, file, report)
        _apply_objects_and_rows(conn, line, {} if pending else applied, report)


def _run_file(
    conn: psycopg.Connection[tuple[object, ...]],
    line: MigrationLine,
    file: MigrationFile,
    report: MigrationReport,
) -> None:
    logger.info(
        "Applying migration.",
        extra={"action": "migration_applied", "line": line.name, "file": file.name},
    )
    _execute(conn, line, file)
    _record(conn, line, file, baseline=False)
    report.applied.append((line.name, file.name))


def _apply_objects_and_rows(
    conn: psycopg.Connection[tuple[object, ...]],
    line: MigrationLine,
    applied: Mapping[str, str],
    report: MigrationReport,
) -> None:
    # `applied` is empty after a numbered migration ran: it may have dropped
    # what an unchanged object file defines (a view reading a dropped column
    # goes with it), so every object file runs again.
    pending = pending_objects(line.objects, dict(applied))
    current = [obj.path for obj in line.objects]
    try:
        apply_objects(conn, pending)
    except SchemaObjectError as exc:
        raise MigrationError(str(exc)) from exc
    for obj in pending:
        conn.execute(
            "INSERT INTO queue.schema_migrations (line, name, checksum, version) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (line, name) DO UPDATE "
            "SET checksum = EXCLUDED.checksum, version = EXCLUDED.version, applied_at = now()",
            (line.name, obj.path, obj.checksum, line.version),
        )
    # An object whose file is gone was dropped by a numbered migration.
    conn.execute(
        "DELETE FROM queue.schema_migrations "
        "WHERE line = %s AND name LIKE '%%/%%' AND NOT name = ANY(%s)",
        (line.name, current),
    )
    report.applied.extend((line.name, obj.path) for obj in pending)
    if line.rows is not None:
        written = line.rows(conn)
        report.applied.extend((line.name, f"job_types/{name}") for name in written)


def _adopt_rewritten(
    conn: psycopg.Connection[tuple[object, ...]],
    line: MigrationLine,
    file: MigrationFile,
) -> None:
    # The file was rewritten without changing what it builds (its functions
    # and views moved to object files): record the new text, so that an edit
    # of the new text is refused like any other.
    logger.info(
        "Recording a rewritten migration.",
        extra={"action": "migration_rewritten", "line": line.name, "file": file.name},
    )
    conn.execute(
        "UPDATE queue.schema_migrations SET checksum = %s WHERE line = %s AND name = %s",
        (file.checksum, line.name, file.name),
    )


def _execute(
    conn: psycopg.Connection[tuple[object, ...]],
    line: MigrationLine,
    file: MigrationFile,
) -> None:
    if line.search_path is not None and file.transactional:
        # Local to the file's transaction: later lines see the default path.
        conn.execute("SELECT set_config('search_path', %s, true)", (line.search_path,))
    try:
        # Migration files are trusted text from the repository or the installed
        # procrastinate package, never user input.
        conn.execute(file.sql.encode())
    except psycopg.Error as exc:
        raise MigrationError(
            f"migration {line.name}/{file.name} failed: {exc}"
        ) from exc


def _record(
    conn: psycopg.Connection[tuple[object, ...]],
    line: MigrationLine,
    file: MigrationFile,
    *,
    baseline: bool,
) -> None:
    conn.execute(
        "INSERT INTO queue.schema_migrations (line, name, checksum, version, baseline) "
        "VALUES (%s, %s, %s, %s, %s)",
        (line.name, file.name, file.checksum, line.version, baseline),
    )
