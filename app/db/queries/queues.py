"""Typed wrappers of `sql/queries/queues.sql`."""

from dataclasses import dataclass
from datetime import timedelta

from psycopg.rows import class_row

from app.db import Connection
from app.db.errors import translate_errors
from app.db.queries import QUERIES


@dataclass(frozen=True)
class QueueRow:
    """A queue's policy row."""

    name: str
    tier: str
    max_attempts: int
    backoff: str
    backoff_base_s: float
    backoff_factor: float
    backoff_cap_s: float | None
    backoff_jitter: bool
    keep_succeeded: timedelta
    keep_failed: timedelta
    keep_results: bool
    concurrency: int
    paused: bool


async def list_queues(conn: Connection) -> list[QueueRow]:
    """Return every queue's policy."""
    with translate_errors():
        async with conn.cursor(row_factory=class_row(QueueRow)) as cursor:
            await cursor.execute(QUERIES["list_queues"])
            return await cursor.fetchall()
