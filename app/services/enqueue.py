"""Enqueue jobs from Python, inside the caller's transaction.

Both functions validate `data` with the job type's payload model, then call the
single enqueue path `queue.enqueue` / `queue.enqueue_many` on the connection the
caller passes: the job exists if and only if the caller's transaction commits.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

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


# How long a job's idempotency key stays unique, and what a duplicate does
# (`queue.enqueue_unique_modes`).
UniqueWhile = Literal["retained", "active", "waiting"]
OnDuplicate = Literal["keep", "replace"]


@dataclass(frozen=True)
class Dependency:
    """A job another waits for: an existing one by id, or an earlier one of the same call.

    `on_failure`: "fail" fails the dependant when this job fails (and cancels
    it when this job is cancelled); "run" runs it anyway.
    """

    job_id: int | None = None
    index: int | None = None
    on_failure: Literal["fail", "run"] = "fail"

    def __post_init__(self) -> None:
        if (self.job_id is None) == (self.index is None):
            raise ValueError("a dependency names exactly one of job_id and index")

    def as_json(self) -> dict[str, Any]:
        """Return the element of `depends_on` that `queue.enqueue_many` expects."""
        named: dict[str, Any] = (
            {"job_id": self.job_id}
            if self.job_id is not None
            else {"index": self.index}
        )
        return {**named, "on_failure": self.on_failure}


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
    # At most the queue's key_concurrency jobs of one key run at once.
    concurrency_key: str | None = None
    # The jobs this one waits for.
    depends_on: tuple[Dependency, ...] = ()
    unique_while: UniqueWhile | None = None
    on_duplicate: OnDuplicate | None = None

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
            "concurrency_key": self.concurrency_key,
            "depends_on": [d.as_json() for d in self.depends_on] or None,
            "unique_while": self.unique_while,
            "on_duplicate": self.on_duplicate,
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
            "concurrency_key": self.concurrency_key,
            "depends_on": [d.as_json() for d in self.depends_on] or None,
            "unique_while": self.unique_while,
            "on_duplicate": self.on_duplicate,
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
    concurrency_key: str | None = None,
    depends_on: Sequence[int | Dependency] = (),
    unique_while: UniqueWhile | None = None,
    on_duplicate: OnDuplicate | None = None,
) -> Enqueued:
    """Enqueue one job on `conn`, in its current transaction.

    `depends_on` names existing jobs (ids, or `Dependency` for a failure
    policy of "run"): the job waits until they have ended.

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
        concurrency_key=concurrency_key,
        depends_on=[
            (d if isinstance(d, Dependency) else Dependency(job_id=d)).as_json()
            for d in depends_on
        ]
        or None,
        unique_while=unique_while,
        on_duplicate=on_duplicate,
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
    _validate_all(jobs)
    rows = await queries.enqueue_many(conn, jobs=[job.as_json() for job in jobs])
    count_enqueued(jobs, [row.duplicate for row in rows])
    return [Enqueued(job_id=row.job_id, duplicate=row.duplicate) for row in rows]


def _validate_all(jobs: Sequence[JobRequest]) -> None:
    for index, job in enumerate(jobs):
        try:
            validate_payload(
                job.job_type, job.data, pointer_prefix=f"/jobs/{index}/data"
            )
        except PayloadInvalid as exc:
            raise PayloadInvalid(
                f"jobs[{index}]: {exc.detail}", errors=exc.errors
            ) from exc


def count_enqueued(jobs: Sequence[JobRequest], duplicates: Sequence[bool]) -> None:
    """Count the new jobs among `jobs` in the queue_service_enqueued_jobs_total metric."""
    # One increment per label pair, not per job: a batch is mostly one type.
    new_jobs = Counter(
        (job.queue, job.job_type)
        for job, duplicate in zip(jobs, duplicates, strict=True)
        if not duplicate
    )
    for (queue, job_type), count in new_jobs.items():
        metrics.ENQUEUED_JOBS.labels(canonical_queue_name(queue), job_type).inc(count)


def chain(
    steps: Sequence[JobRequest], *, on_failure: Literal["fail", "run"] = "fail"
) -> list[JobRequest]:
    """Return `steps` as a chain: each waits for the one before it.

    Pass the result to `enqueue_many` (or `enqueue_batch`) to create the whole
    chain in one call.
    """
    return [
        replace(
            step,
            depends_on=(
                *step.depends_on,
                Dependency(index=i - 1, on_failure=on_failure),
            ),
        )
        if i
        else step
        for i, step in enumerate(steps)
    ]


@dataclass(frozen=True)
class EnqueuedBatch:
    """A batch `enqueue_batch` created: its id, its jobs, its callbacks."""

    batch_id: int
    jobs: list[Enqueued]
    # It existed under its idempotency key: this call created nothing.
    replayed: bool = False


async def enqueue_batch(
    conn: Connection,
    jobs: Sequence[JobRequest],
    *,
    on_complete: JobRequest | None = None,
    on_failure: JobRequest | None = None,
    owner: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> EnqueuedBatch:
    """Enqueue `jobs` as a batch on `conn`, atomically, with optional callbacks.

    `on_complete` runs once every job of the batch has ended; `on_failure`
    once the first one fails for good (and is cancelled if none does). Their
    meta carries `batch_id`. `owner` (`user_id`, `venue_id`) says who may
    read the batch over HTTP. Under an `idempotency_key` the batch is made
    once: sent again, nothing is created and the first batch is returned
    (`replayed`); `request_hash` is kept to tell a replay from another request.

    Raises:
        PayloadInvalid: a job's data does not match its model.
        EnqueueRejected: the database refused a job; the message names it.
    """
    _validate_all(jobs)
    for name, callback in (("on_complete", on_complete), ("on_failure", on_failure)):
        if callback is not None:
            try:
                validate_payload(
                    callback.job_type, callback.data, pointer_prefix=f"/{name}/data"
                )
            except PayloadInvalid as exc:
                raise PayloadInvalid(
                    f"{name}: {exc.detail}", errors=exc.errors
                ) from exc
    rows = await queries.enqueue_batch(
        conn,
        jobs=[job.as_json() for job in jobs],
        on_complete=on_complete.as_json() if on_complete else None,
        on_failure=on_failure.as_json() if on_failure else None,
        owner=owner or {},
        idempotency_key=idempotency_key,
        request_hash=request_hash,
    )
    if not rows[0].replayed:
        count_enqueued(jobs, [row.duplicate for row in rows])
    return EnqueuedBatch(
        batch_id=rows[0].batch_id,
        jobs=[Enqueued(job_id=row.job_id, duplicate=row.duplicate) for row in rows],
        replayed=rows[0].replayed,
    )
