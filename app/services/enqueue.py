"""Enqueue jobs from Python, inside the caller's transaction.

Both functions validate `data` with the job type's payload model, then call the
single enqueue path `queue.enqueue` / `queue.enqueue_many` on the connection the
caller passes: the job exists if and only if the caller's transaction commits.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.db import Connection
from app.db.queries import enqueue as queries
from app.domain.errors import (
    PayloadInvalid,
)
from app.domain.job_types import validate_payload
from app.domain.policy import canonical_queue_name
from app.observability import metrics


def scoped_key(scope: str, key: str) -> str:
    """The stored form of a key in a caller's space, as `queue.enqueue_jobs` writes it."""
    return f"@{scope}:{key}"


@dataclass(frozen=True)
class JobRequest:
    """One job to enqueue; the fields of `queue.enqueue`."""

    queue: str
    job_type: str
    data: dict[str, Any]
    priority: int | None = None
    run_at: datetime | None = None
    idempotency_key: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    # The caller's own key space (`queue.enqueue_jobs`); None: the shared one.
    key_scope: str | None = None
    # Jobs of one ordering key run one at a time, in order; None: the type's.
    ordering_key: str | None = None

    def as_json(self) -> dict[str, Any]:
        """Return the object `queue.enqueue_many` expects for this job."""
        return {
            "queue": self.queue,
            "job_type": self.job_type,
            "data": self.data,
            "priority": self.priority,
            "run_at": self.run_at.isoformat() if self.run_at else None,
            "idempotency_key": self.idempotency_key,
            "key_scope": self.key_scope,
            "ordering_key": self.ordering_key,
            "meta": self.meta,
        }

    def as_args(self) -> dict[str, Any]:
        """Return the keyword arguments of `queue.enqueue` for this job."""
        return {
            "queue": self.queue,
            "job_type": self.job_type,
            "data": self.data,
            "priority": self.priority,
            "run_at": self.run_at,
            "idempotency_key": self.idempotency_key,
            "meta": self.meta,
            "key_scope": self.key_scope,
            "ordering_key": self.ordering_key,
        }


@dataclass(frozen=True)
class Enqueued:
    """The job a request resolved to: new, or the one its idempotency key names."""

    job_id: int
    duplicate: bool


async def enqueue(
    conn: Connection,
    *,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    priority: int | None = None,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    meta: dict[str, Any] | None = None,
    ordering_key: str | None = None,
) -> Enqueued:
    """Enqueue one job on `conn`, in its current transaction.

    Raises:
        PayloadInvalid: `data` does not match the job type's model.
        EnqueueRejected: the database refused the job (unknown queue or type,
            missing key field, ...), with its message.
    """
    validate_payload(job_type, data)
    row = await queries.enqueue(
        conn,
        queue=queue,
        job_type=job_type,
        data=data,
        priority=priority,
        run_at=run_at,
        idempotency_key=idempotency_key,
        meta=meta or {},
        ordering_key=ordering_key,
    )
    if not row.duplicate:
        metrics.ENQUEUED_JOBS.labels(canonical_queue_name(queue), job_type).inc()
    return Enqueued(job_id=row.job_id, duplicate=row.duplicate)


async def enqueue_many(conn: Connection, jobs: Sequence[JobRequest]) -> list[Enqueued]:
    """Enqueue a batch atomically on `conn`; results are in the order of `jobs`.

    Raises:
        PayloadInvalid: a job's data does not match its model; pointers start
            with `/jobs/<index>/data`.
        EnqueueRejected: the database refused a job; the message names its index.
    """
    for index, job in enumerate(jobs):
        try:
            validate_payload(
                job.job_type, job.data, pointer_prefix=f"/jobs/{index}/data"
            )
        except PayloadInvalid as exc:
            raise PayloadInvalid(
                f"jobs[{index}]: {exc.detail}", errors=exc.errors
            ) from exc
    rows = await queries.enqueue_many(conn, jobs=[job.as_json() for job in jobs])
    count_enqueued(jobs, [row.duplicate for row in rows])
    return [Enqueued(job_id=row.job_id, duplicate=row.duplicate) for row in rows]


def count_enqueued(jobs: Sequence[JobRequest], duplicates: Sequence[bool]) -> None:
    """Count the new jobs among `jobs` in the enqueued_jobs_total metric."""
    # One increment per label pair, not per job: a batch is mostly one type.
    new_jobs = Counter(
        (job.queue, job.job_type)
        for job, duplicate in zip(jobs, duplicates, strict=True)
        if not duplicate
    )
    for (queue, job_type), count in new_jobs.items():
        metrics.ENQUEUED_JOBS.labels(canonical_queue_name(queue), job_type).inc(count)
