"""Where the tests' PostgreSQL comes from (design §10).

TEST_DATABASE_URL if set; else a testcontainers PostgreSQL when a Docker engine
answers; else the embedded PostgreSQL. If none works the tests fail: they never
skip for want of a database.
"""

import contextlib
import gc
import os
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from app.cli import run_migrations

# One template per test run: two runs against one server (two checkouts, or a
# run beside a benchmark) never drop each other's template.
TEMPLATE = f"queue_service_test_template_{os.getpid()}"


def _docker_answers() -> bool:
    # The Docker SDK leaves the socket of a failed connect for the garbage
    # collector; collect it here, with its ResourceWarning silenced, rather than
    # in whichever test runs next (the tests turn warnings into errors).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            import docker  # type: ignore[import-untyped]

            with contextlib.closing(docker.from_env(timeout=2)) as client:
                client.ping()
        except Exception:
            return False
        finally:
            gc.collect()
    return True


@contextlib.contextmanager
def database_server() -> Iterator[str]:
    """Yield an admin DSN of a PostgreSQL server the tests may create databases on."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
        yield url
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", driver=None) as container:
            yield container.get_connection_url()
        return
    from app.db.embedded import EmbeddedPostgres

    with (
        tempfile.TemporaryDirectory(prefix="queue-service-test-") as parent,
        EmbeddedPostgres(Path(parent) / "pgdata", delete_on_exit=True) as server,
    ):
        yield server.dsn


def dsn_for(admin_dsn: str, database: str) -> str:
    """Return `admin_dsn` pointed at another database."""
    return conninfo.make_conninfo(admin_dsn, dbname=database)


def create_template(admin_dsn: str) -> None:
    """(Re)build the migrated template database with our migration runner."""
    drop_database(admin_dsn, TEMPLATE)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE)))
    run_migrations(dsn_for(admin_dsn, TEMPLATE))


def clone_template(admin_dsn: str) -> str:
    """Create a fresh database from the template; return its name."""
    name = f"queue_service_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(TEMPLATE)
            )
        )
    return name


def create_empty(admin_dsn: str) -> str:
    """Create an empty database; return its name."""
    name = f"queue_service_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(admin_dsn: str, name: str) -> None:
    """Drop a database, disconnecting whoever is still on it."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
