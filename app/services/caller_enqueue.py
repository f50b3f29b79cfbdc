"""Enqueue on behalf of an HTTP caller: identity, venue rules, replays, batches.

The caller's identity and request id go into each job's meta. Single jobs go
through the process's `GroupEnqueuer`; batches through `queue.enqueue_many` on
the request's connection.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from app.db import Connection
from app.db.queries import enqueue as queries
from app.db.queries import jobs as job_queries
from app.domain.access import Principal, can_enqueue_for_venue, can_see_job
from app.domain.errors import (
    BatchRejected,
    EnqueueRejected,
    Forbidden,
    IdempotencyKeyReused,
    InvalidDependency,
    PayloadInvalid,
)
from app.domain.job_types import CATALOGUE, may_enqueue, validate_payload
from app.domain.policy import canonical_queue_name
from app.services.enqueue import (
    Dependency,
    Enqueued,
    JobRequest,
    OnDuplicate,
    UniqueWhile,
    count_enqueued,
    scoped_key,
)
from app.services.group_enqueue import GroupEnqueuer


@dataclass(frozen=True)
class JobOptions:
    """The old service's per-job options."""

    priority: int | None = None
    delay_ms: int | None = None
    attempts: int | None = None
    ordering_key: str | None = None
    concurrency_key: str | None = None
    depends_on: tuple[Dependency, ...] = ()
    unique_while: UniqueWhile | None = None
    on_duplicate: OnDuplicate | None = None


@dataclass(frozen=True)
class BatchItem:
    """One job of a batch request."""

    job_type: str
    data: dict[str, Any]
    options: JobOptions = field(default_factory=JobOptions)


@dataclass(frozen=True)
class BatchEntry:
    """A job of a batch that was enqueued."""

    index: int
    job_id: int
    job_type: str
    duplicate: bool


@dataclass(frozen=True)
class BatchError:
    """A job of a batch that was not enqueued, and why."""

    index: int
    job_type: str
    error: str
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class BatchResult:
    """What a batch request did."""

    entries: list[BatchEntry]
    errors: list[BatchError]


def request_fingerprint(
    queue: str, job_type: str, data: dict[str, Any], options: JobOptions
) -> str:
    """Return a digest of what was asked, to tell a replay from a different request."""
    canonical = json.dumps(
        {
            "queue": canonical_queue_name(queue),
            "type": job_type,
            "data": data,
            "options": asdict(options),
        },
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _meta(
    principal: Principal,
    data: dict[str, Any],
    options: JobOptions,
    request_id: str | None,
) -> dict[str, Any]:
    venue = data.get("venueId")
    meta: dict[str, Any] = {
        "user_id": principal.sub,
        "venue_id": venue if isinstance(venue, str) else None,
        "request_id": request_id,
    }
    if options.attempts is not None:
        meta["max_attempts"] = options.attempts
    return meta


def _run_at(options: JobOptions) -> datetime | None:
    if not options.delay_ms:
        return None
    return datetime.now(UTC) + timedelta(milliseconds=options.delay_ms)


def caller_job(
    principal: Principal,
    queue: str,
    item: BatchItem,
    request_id: str | None,
    *,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
) -> JobRequest:
    """Return the job an HTTP caller's item asks for, with the caller's meta and key scope."""
    meta = _meta(principal, item.data, item.options, request_id)
    if request_hash is not None:
        meta["request_hash"] = request_hash
    options = item.options
    return JobRequest(
        queue=queue,
        job_type=item.job_type,
        data=item.data,
        priority=options.priority,
        run_at=_run_at(options),
        idempotency_key=idempotency_key,
        meta=meta,
        key_scope=principal.key_scope,
        ordering_key=options.ordering_key,
        concurrency_key=options.concurrency_key,
        depends_on=options.depends_on,
        unique_while=options.unique_while,
        on_duplicate=options.on_duplicate,
    )


def check_allowed(principal: Principal, job_type: str, data: dict[str, Any]) -> None:
    """Refuse a job the caller's role, or venue, may not enqueue."""
    # The type's own rule first (`JobType.enqueue_roles`), then the venue's.
    if not may_enqueue(principal.role, job_type):
        entry = CATALOGUE.get(job_type)
        roles = (
            sorted(role.value for role in entry.enqueue_roles) if entry else ["admin"]
        )
        allowed = (
            ", ".join(roles) if roles else "nobody: the service enqueues it itself"
        )
        raise Forbidden(
            f"role {principal.role.value} may not enqueue {job_type} (allowed: {allowed})"
        )
    _check_venue(principal, data)


async def check_dependencies(
    conn: Connection,
    principal: Principal,
    options: JobOptions,
    *,
    in_one_call: bool,
    index: int | None = None,
) -> None:
    """Refuse dependencies the caller may not name (`index`: the job's place in its batch)."""
    # A caller may wait only for jobs it may see: waiting on another caller's
    # job would tell it when that job ends. A job named by index must be an
    # earlier job of the same all-or-nothing call.
    where = f"jobs[{index}]: " if index is not None else ""
    for dependency in options.depends_on:
        if dependency.index is not None and not in_one_call:
            raise InvalidDependency(
                f"{where}a dependency by index names a job of the same call: "
                "only an all-or-nothing batch (stopOnError) or a batch of /batches has one"
            )
        if dependency.job_id is None:
            continue
        job = await job_queries.get_job(conn, job_id=dependency.job_id)
        if job is None or not can_see_job(
            principal, user_id=job.user_id, venue_id=job.venue_id
        ):
            raise InvalidDependency(
                f"{where}depends_on job {dependency.job_id} does not exist"
            )


def _check_venue(principal: Principal, data: dict[str, Any]) -> None:
    venue = data.get("venueId")
    if not can_enqueue_for_venue(principal, venue if isinstance(venue, str) else None):
        raise Forbidden(
            "venue admins may add jobs only for their own venues (data.venueId)"
        )


async def enqueue_request(
    enqueuer: GroupEnqueuer,
    *,
    principal: Principal,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    options: JobOptions,
    idempotency_key: str | None,
    request_id: str | None,
) -> Enqueued:
    """Enqueue one job for an HTTP caller.

    A replay with the same idempotency key (given, or rendered from the type's
    template) and the same request returns the original job; a different
    request under that key is refused. Keys are the caller's own
    (`Principal.key_scope`): another caller's same key is another key.

    Raises:
        Forbidden: the caller's role may not enqueue this type, or a venue
            admin adds a job for another venue.
        PayloadInvalid: `data` does not match the job type's model.
        EnqueueRejected: the database refused the job, with its message.
        IdempotencyKeyReused: the key names a job created by another request.
    """
    check_allowed(principal, job_type, data)
    validate_payload(job_type, data)
    if options.depends_on:
        async with enqueuer.pool.connection() as conn:
            await check_dependencies(conn, principal, options, in_one_call=False)
    fingerprint = request_fingerprint(queue, job_type, data, options)
    result = await enqueuer.enqueue(
        caller_job(
            principal,
            queue,
            BatchItem(job_type, data, options),
            request_id,
            idempotency_key=idempotency_key,
            request_hash=fingerprint,
        )
    )
    if result.duplicate:
        async with enqueuer.pool.connection() as conn:
            stored = await job_queries.get_request_hash(
                conn,
                job_id=result.job_id,
                idempotency_key=scoped_key(principal.key_scope, idempotency_key)
                if idempotency_key is not None
                else None,
            )
        if stored is not None and stored != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key already used for job {result.job_id} with a different request",
                job_id=result.job_id,
            )
    return result


async def enqueue_batch(
    conn: Connection,
    *,
    principal: Principal,
    queue: str,
    items: Sequence[BatchItem],
    stop_on_error: bool,
    validate_all: bool,
    request_id: str | None,
) -> BatchResult:
    """Enqueue a batch for an HTTP caller.

    With `stop_on_error` the batch is all-or-nothing, in one transaction: any
    invalid job rejects it (every invalid job is reported with `validate_all`,
    else the first). Without it, the valid jobs are enqueued and the invalid
    ones reported.

    Raises:
        BatchRejected: with `stop_on_error`, when any job is invalid.
    """
    errors: list[BatchError] = []
    valid: list[tuple[int, BatchItem]] = []
    for index, item in enumerate(items):
        try:
            check_allowed(principal, item.job_type, item.data)
            validate_payload(
                item.job_type, item.data, pointer_prefix=f"/jobs/{index}/data"
            )
            await check_dependencies(
                conn, principal, item.options, in_one_call=stop_on_error, index=index
            )
        except (Forbidden, PayloadInvalid, InvalidDependency) as exc:
            errors.append(
                BatchError(index, item.job_type, exc.detail, getattr(exc, "errors", []))
            )
            if stop_on_error and not validate_all:
                break
            continue
        valid.append((index, item))
    if stop_on_error and errors:
        raise BatchRejected(
            f"{len(errors)} job(s) of the batch are invalid; nothing was enqueued",
            errors=errors,
        )

    def request(item: BatchItem) -> JobRequest:
        return caller_job(principal, queue, item, request_id)

    if stop_on_error:
        try:
            async with conn.transaction():
                rows = await queries.enqueue_many(
                    conn, jobs=[request(item).as_json() for _, item in valid]
                )
        except EnqueueRejected as exc:
            raise BatchRejected(exc.detail, errors=[]) from exc
        count_enqueued(
            [request(item) for _, item in valid], [row.duplicate for row in rows]
        )
        return BatchResult(
            [
                BatchEntry(index, row.job_id, item.job_type, row.duplicate)
                for (index, item), row in zip(valid, rows, strict=True)
            ],
            [],
        )
    entries: list[BatchEntry] = []
    for index, item in valid:
        try:
            result = await queries.enqueue(conn, **request(item).as_args())
        except EnqueueRejected as exc:
            errors.append(BatchError(index, item.job_type, exc.detail))
            continue
        count_enqueued([request(item)], [result.duplicate])
        entries.append(
            BatchEntry(index, result.job_id, item.job_type, result.duplicate)
        )
    return BatchResult(entries, sorted(errors, key=lambda error: error.index))
