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
from app.domain.access import Principal, can_enqueue_for_venue
from app.domain.errors import (
    BatchRejected,
    EnqueueRejected,
    Forbidden,
    IdempotencyKeyReused,
    PayloadInvalid,
)
from app.domain.job_types import CATALOGUE, may_enqueue, validate_payload
from app.domain.policy import canonical_queue_name
from app.services.enqueue import Enqueued, JobRequest, count_enqueued, scoped_key
from app.services.group_enqueue import GroupEnqueuer


@dataclass(frozen=True)
class JobOptions:
    """The old service's per-job options."""

    priority: int | None = None
    delay_ms: int | None = None
    attempts: int | None = None
    ordering_key: str | None = None


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


def _check_allowed(principal: Principal, job_type: str, data: dict[str, Any]) -> None:
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
    _check_allowed(principal, job_type, data)
    validate_payload(job_type, data)
    fingerprint = request_fingerprint(queue, job_type, data, options)
    meta = {**_meta(principal, data, options, request_id), "request_hash": fingerprint}
    result = await enqueuer.enqueue(
        JobRequest(
            queue=queue,
            job_type=job_type,
            data=data,
            priority=options.priority,
            run_at=_run_at(options),
            idempotency_key=idempotency_key,
            meta=meta,
            key_scope=principal.key_scope,
            ordering_key=options.ordering_key,
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
            _check_allowed(principal, item.job_type, item.data)
            validate_payload(
                item.job_type, item.data, pointer_prefix=f"/jobs/{index}/data"
            )
        except (Forbidden, PayloadInvalid) as exc:
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
        return JobRequest(
            queue=queue,
            job_type=item.job_type,
            data=item.data,
            priority=item.options.priority,
            run_at=_run_at(item.options),
            meta=_meta(principal, item.data, item.options, request_id),
            key_scope=principal.key_scope,
            ordering_key=item.options.ordering_key,
        )

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
