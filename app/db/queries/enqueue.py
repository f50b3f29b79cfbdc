"""Typed wrappers of `sql/queries/enqueue.sql`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import fetch_all, fetch_one


@dataclass(frozen=True)
class EnqueuedRow:
    """One job as `queue.enqueue` returned it."""

    job_id: int
    duplicate: bool


@dataclass(frozen=True)
class EnqueuedManyRow:
    """One job of a batch as `queue.enqueue_many` returned it."""

    job_index: int
    job_id: int
    duplicate: bool


async def enqueue(
    conn: Connection,
    *,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    priority: int | None,
    run_at: datetime | None,
    idempotency_key: str | None,
    meta: dict[str, Any],
    key_scope: str | None = None,
    ordering_key: str | None = None,
) -> EnqueuedRow:
    """Call `queue.enqueue` on the caller's connection (and transaction)."""
    params = {
        "queue": queue,
        "job_type": job_type,
        "data": Jsonb(data),
        "priority": priority,
        "run_at": run_at,
        "idempotency_key": idempotency_key,
        "meta": Jsonb(meta),
        "key_scope": key_scope,
        "ordering_key": ordering_key,
    }
    row = await fetch_one(conn, "enqueue", params, EnqueuedRow)
    if row is None:  # queue.enqueue returns exactly one row or raises
        raise RuntimeError("queue.enqueue returned no row")
    return row


async def enqueue_many(
    conn: Connection, *, jobs: Sequence[dict[str, Any]]
) -> list[EnqueuedManyRow]:
    """Call `queue.enqueue_many` on the caller's connection (and transaction)."""
    # msgspec whatever the connection's JSON dumper: a batch is megabytes of
    # JSON, which the standard library encodes ~4x slower.
    return await fetch_all(
        conn,
        "enqueue_many",
        {"jobs": Jsonb(list(jobs), dumps=msgspec.json.encode)},
        EnqueuedManyRow,
    )
