"""Typed wrappers of `sql/queries/enqueue.sql`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from psycopg.types.json import Jsonb

from app.db import Connection
from app.db.queries import fetch_all, fetch_one
from app.observability import tracing


@dataclass(frozen=True)
class EnqueuedRow:
    """One job as `queue.enqueue` returned it."""

    job_id: int
    duplicate: bool


@dataclass(frozen=True)
class EnqueuedBatchRow:
    """One job of a batch as `queue.enqueue_batch` returned it."""

    batch_id: int
    job_index: int
    job_id: int
    duplicate: bool
    # The batch existed under its idempotency key: nothing was created.
    replayed: bool


@dataclass(frozen=True)
class BatchRow:
    """A batch as `queue.batch_status` shows it, with its owner."""

    id: int
    state: str
    total: int
    succeeded: int
    failed: int
    cancelled: int
    pending: int
    percent: int
    complete_job_id: int | None
    failure_job_id: int | None
    created_at: datetime
    finished_at: datetime | None
    user_id: str | None
    venue_id: str | None
    request_hash: str | None


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
    concurrency_key: str | None = None,
    depends_on: list[dict[str, Any]] | None = None,
    unique_while: str | None = None,
    on_duplicate: str | None = None,
) -> EnqueuedRow:
    """Call `queue.enqueue` on the caller's connection (and transaction).

    With tracing on, the call is an `enqueue` span and the job's meta carries
    its context (`meta.traceparent`), unless the caller gave its own.
    """
    with tracing.producer_span(
        "enqueue",
        {"messaging.destination.name": queue, "queue_service.job_type": job_type},
    ) as trace_context:
        params = {
            "queue": queue,
            "job_type": job_type,
            "data": Jsonb(data),
            "priority": priority,
            "run_at": run_at,
            "idempotency_key": idempotency_key,
            "meta": Jsonb(tracing.with_trace(meta, trace_context)),
            "key_scope": key_scope,
            "ordering_key": ordering_key,
            "concurrency_key": concurrency_key,
            "depends_on": Jsonb(depends_on) if depends_on is not None else None,
            "unique_while": unique_while,
            "on_duplicate": on_duplicate,
        }
        row = await fetch_one(conn, "enqueue", params, EnqueuedRow)
    if row is None:  # queue.enqueue returns exactly one row or raises
        raise RuntimeError("queue.enqueue returned no row")
    return row


async def enqueue_many(
    conn: Connection, *, jobs: Sequence[dict[str, Any]]
) -> list[EnqueuedManyRow]:
    """Call `queue.enqueue_many` on the caller's connection (and transaction).

    With tracing on, one `enqueue_many` span; every job carries its context.
    """
    with tracing.producer_span(
        "enqueue_many", {"messaging.batch.message_count": len(jobs)}
    ) as trace_context:
        # msgspec whatever the connection's JSON dumper: a batch is megabytes of
        # JSON, which the standard library encodes ~4x slower.
        return await fetch_all(
            conn,
            "enqueue_many",
            {"jobs": Jsonb(_traced(jobs, trace_context), dumps=msgspec.json.encode)},
            EnqueuedManyRow,
        )


def _traced(
    jobs: Sequence[dict[str, Any]], trace_context: dict[str, str]
) -> list[dict[str, Any]]:
    # Off (no context), the jobs go as they are: no copy per job.
    if not trace_context:
        return list(jobs)
    return [_traced_job(job, trace_context) for job in jobs]


def _traced_job(job: dict[str, Any], trace_context: dict[str, str]) -> dict[str, Any]:
    if not trace_context:
        return job
    return {**job, "meta": tracing.with_trace(job.get("meta") or {}, trace_context)}


async def enqueue_batch(
    conn: Connection,
    *,
    jobs: Sequence[dict[str, Any]],
    on_complete: dict[str, Any] | None,
    on_failure: dict[str, Any] | None,
    owner: dict[str, Any],
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> list[EnqueuedBatchRow]:
    """Call `queue.enqueue_batch` on the caller's connection (and transaction).

    With tracing on, one `enqueue_batch` span; every job and callback carries
    its context.
    """
    with tracing.producer_span(
        "enqueue_batch", {"messaging.batch.message_count": len(jobs)}
    ) as trace_context:
        complete = on_complete and _traced_job(on_complete, trace_context)
        failure = on_failure and _traced_job(on_failure, trace_context)
        return await fetch_all(
            conn,
            "enqueue_batch",
            {
                "jobs": Jsonb(_traced(jobs, trace_context), dumps=msgspec.json.encode),
                "on_complete": Jsonb(complete) if complete is not None else None,
                "on_failure": Jsonb(failure) if failure is not None else None,
                "owner": Jsonb(owner),
                "idempotency_key": idempotency_key,
                "request_hash": request_hash,
            },
            EnqueuedBatchRow,
        )


async def get_batch(conn: Connection, *, batch_id: int) -> BatchRow | None:
    """Return a batch's counts, or None when there is no such batch."""
    return await fetch_one(conn, "get_batch", {"batch_id": batch_id}, BatchRow)
