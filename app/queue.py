"""The procrastinate seam: the only module of `app` that imports procrastinate.

Internal, not a stable API. It builds the procrastinate App on the process's
psycopg pool and describes procrastinate's schema as a migration line for our
runner, read from the installed package so it is never copied into `sql/`.
"""

import importlib.metadata
import importlib.resources
import re

import procrastinate

from app.db.migrations import MigrationFile, MigrationLine

PROCRASTINATE_VERSION = importlib.metadata.version("procrastinate")
_POST_MIGRATION = re.compile(r"_post_")


def procrastinate_line() -> MigrationLine:
    """Return procrastinate's schema and migrations as shipped by the installed version.

    An empty database gets `schema.sql`, with every shipped migration recorded as
    its baseline; a later procrastinate version's new files then apply in order,
    `pre` ones before a deploy and `post` ones after.
    """
    package = importlib.resources.files("procrastinate.sql")
    migrations = package / "migrations"
    files = tuple(
        MigrationFile(
            name=entry.name,
            sql=entry.read_text(),
            phase="post" if _POST_MIGRATION.search(entry.name) else "pre",
        )
        for entry in sorted(migrations.iterdir(), key=lambda entry: entry.name)
        if entry.name.endswith(".sql")
    )
    baseline = MigrationFile(
        name="schema.sql", sql=(package / "schema.sql").read_text()
    )
    return MigrationLine(
        name="procrastinate",
        version=PROCRASTINATE_VERSION,
        files=files,
        baseline=baseline,
        marker_table="public.procrastinate_jobs",
        search_path="public",
    )


def build_queue_app() -> procrastinate.App:
    """Return the process's procrastinate App, to be opened on the process's pool.

    Open it with `async with app.open_async(pool):` so procrastinate runs on our
    pool (autocommit, no per-checkout check) instead of creating its own.
    """
    return procrastinate.App(connector=procrastinate.PsycopgConnector())
