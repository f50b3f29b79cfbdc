"""Named queries of `sql/queries/*.sql`, loaded once, and their typed wrappers.

A query file holds blocks of: a tag line `-- name: <snake_name> :one|:many|:exec`,
a one-line `--` description, then the statement.
"""

import re
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, LiteralString, TypeVar, cast

from psycopg.rows import class_row, scalar_row

from app.db import Connection
from app.db.errors import translate_errors
from app.db.sql_files import sql_dir

Row = TypeVar("Row")

Cardinality = Literal[":one", ":many", ":exec"]

_TAG = re.compile(r"^-- name: ([a-z][a-z0-9_]*) (:one|:many|:exec)\s*$", re.MULTILINE)


class QueryFileError(ValueError):
    """A query file is malformed."""


def parse_queries(text: str, *, source: str) -> dict[str, tuple[Cardinality, str]]:
    """Return name → (cardinality, statement) of one query file.

    Raises:
        QueryFileError: a tag is malformed, text precedes the first tag, or a
            block lacks its description or statement.
    """
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("-- name:") and not _TAG.match(line):
            raise QueryFileError(f"{source}:{number}: malformed tag {line!r}")
    matches = list(_TAG.finditer(text))
    preamble = text[: matches[0].start()] if matches else text
    if any(
        line.strip() and not line.startswith("--") for line in preamble.splitlines()
    ):
        raise QueryFileError(f"{source}: text before the first '-- name:' tag")
    queries: dict[str, tuple[Cardinality, str]] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=False):
        end = following.start() if following else len(text)
        body = text[match.end() : end].strip()
        lines = body.splitlines()
        if not lines or not lines[0].startswith("--"):
            raise QueryFileError(
                f"{source}: query {match.group(1)} has no description line"
            )
        statement = "\n".join(lines[1:]).strip().rstrip(";")
        if not statement:
            raise QueryFileError(f"{source}: query {match.group(1)} has no statement")
        if match.group(1) in queries:
            raise QueryFileError(f"{source}: query {match.group(1)} is defined twice")
        queries[match.group(1)] = (cast(Cardinality, match.group(2)), statement)
    return queries


def load_queries(directory: Path | None = None) -> Mapping[str, LiteralString]:
    """Load every named query; names are unique across files.

    Raises:
        QueryFileError: a name is defined twice.
    """
    directory = directory or sql_dir() / "queries"
    loaded: dict[str, LiteralString] = {}
    for path in sorted(directory.glob("*.sql")):
        for name, (_, statement) in parse_queries(
            path.read_text(), source=path.name
        ).items():
            if name in loaded:
                raise QueryFileError(f"{path.name}: query {name} is defined twice")
            # The files are part of the code base, not input: literal by contract
            # (mypy reads LiteralString as str, so no cast is needed or allowed).
            loaded[name] = statement
    return types.MappingProxyType(loaded)


QUERIES = load_queries()


async def fetch_all(
    conn: Connection, name: str, params: Mapping[str, Any], row: type[Row]
) -> list[Row]:
    """Run the named query and return every row as `row`."""
    with translate_errors():
        async with conn.cursor(row_factory=class_row(row)) as cursor:
            await cursor.execute(QUERIES[name], params)
            return await cursor.fetchall()


async def fetch_one(
    conn: Connection, name: str, params: Mapping[str, Any], row: type[Row]
) -> Row | None:
    """Run the named query and return its first row as `row`, or None."""
    with translate_errors():
        async with conn.cursor(row_factory=class_row(row)) as cursor:
            await cursor.execute(QUERIES[name], params)
            return await cursor.fetchone()


async def fetch_value(conn: Connection, name: str, params: Mapping[str, Any]) -> Any:
    """Run the named query and return the first column of its first row."""
    with translate_errors():
        async with conn.cursor(row_factory=scalar_row) as cursor:
            await cursor.execute(QUERIES[name], params)
            return await cursor.fetchone()


async def execute(conn: Connection, name: str, params: Mapping[str, Any]) -> None:
    """Run the named query for its effect."""
    with translate_errors():
        await conn.execute(QUERIES[name], params)
