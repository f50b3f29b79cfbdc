"""The one scratch database every benchmark runs in, created beside the configured one."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import conninfo, sql

from app.db.migrations import app_line, migrate
from app.queue import procrastinate_line


@contextmanager
def scratch_database(dsn: str) -> Iterator[str]:
    """Create, migrate and finally drop a database beside `dsn`'s; yield its DSN."""
    name = f"queue_service_bench_{os.getpid()}"
    admin = conninfo.make_conninfo(dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    scratch = conninfo.make_conninfo(dsn, dbname=name)
    try:
        migrate(scratch, [procrastinate_line(), app_line("bench")])
        yield scratch
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)
                )
            )
