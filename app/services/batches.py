"""Batches for HTTP callers: jobs counted as one group, with callbacks, and their progress.

A batch is created in one transaction (`queue.enqueue_batch`): its jobs, which
may depend on one another by index, and its callbacks, held until the batch
calls them. Its counts are read from `queue.batch_status`. Its creator reads
it (and a venue admin the batches of its venues); an admin reads all.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict

from app.db import Connection
from app.db.queries import enqueue as queries
from app.db.queries.enqueue import BatchRow
from app.domain.access import Principal, can_see_job
from app.domain.errors import (
    BatchNotFound,
    IdempotencyKeyReused,
    InvalidDependency,
    PayloadInvalid,
)
from app.domain.job_types import validate_payload
from app.services.caller_enqueue import (
    BatchItem,
    caller_job,
    check_allowed,
    check_dependencies,
)
from app.services.enqueue import EnqueuedBatch, enqueue_batch, scoped_key

__all__ = ["BatchRow", "create_batch", "get_batch"]

# A member of a batch request: its queue and the job.
Member = tuple[str, BatchItem]


def batch_fingerprint(
    jobs: Sequence[Member], on_complete: Member | None, on_failure: Member | None
) -> str:
    """Return a digest of a batch request, to tell a replay from another request."""

    def member(m: Member | None) -> object:
        return (
            None
            if m is None
            else [m[0], m[1].job_type, m[1].data, asdict(m[1].options)]
        )

    canonical = json.dumps(
        [[member(job) for job in jobs], member(on_complete), member(on_failure)],
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_batch(
    conn: Connection,
    *,
    principal: Principal,
    jobs: Sequence[Member],
    on_complete: Member | None,
    on_failure: Member | None,
    request_id: str | None,
    idempotency_key: str | None = None,
) -> EnqueuedBatch:
    """Create a batch of `(queue, item)` jobs for an HTTP caller, all or nothing.

    Under an `idempotency_key` (the caller's own, `Principal.key_scope`) the
    same request again returns the first batch (`replayed`).

    Raises:
        Forbidden: the caller may not enqueue one of the jobs or callbacks.
        PayloadInvalid: a job's data does not match its model.
        InvalidDependency: a job depends on a job the caller may not see, or
            names a later job of the batch; a callback has dependencies.
        EnqueueRejected: the database refused a job, naming it.
        IdempotencyKeyReused: the key names a batch made by another request.
    """
    for index, (_, item) in enumerate(jobs):
        check_allowed(principal, item.job_type, item.data)
        await check_dependencies(
            conn, principal, item.options, in_one_call=True, index=index
        )
    for name, callback in (("onComplete", on_complete), ("onFailure", on_failure)):
        if callback is None:
            continue
        _, item = callback
        check_allowed(principal, item.job_type, item.data)
        if item.options.depends_on:
            raise InvalidDependency(
                f"{name}: a callback waits for its batch, not for dependsOn"
            )
        try:
            validate_payload(item.job_type, item.data, pointer_prefix=f"/{name}/data")
        except PayloadInvalid as exc:
            raise PayloadInvalid(f"{name}: {exc.detail}", errors=exc.errors) from exc

    venues = {
        venue if isinstance(venue := item.data.get("venueId"), str) else None
        for _, item in jobs
    }
    owner = {
        "user_id": principal.sub,
        "venue_id": venues.pop() if len(venues) == 1 else None,
    }
    fingerprint = batch_fingerprint(jobs, on_complete, on_failure)
    key = (
        scoped_key(principal.key_scope, idempotency_key)
        if idempotency_key is not None and principal.key_scope
        else idempotency_key
    )
    async with conn.transaction():
        batch = await enqueue_batch(
            conn,
            [caller_job(principal, queue, item, request_id) for queue, item in jobs],
            on_complete=caller_job(principal, *on_complete, request_id)
            if on_complete
            else None,
            on_failure=caller_job(principal, *on_failure, request_id)
            if on_failure
            else None,
            owner=owner,
            idempotency_key=key,
            request_hash=fingerprint,
        )
    if batch.replayed:
        first = await queries.get_batch(conn, batch_id=batch.batch_id)
        if first is None or first.request_hash != fingerprint:
            raise IdempotencyKeyReused(
                f"idempotency key already used for batch {batch.batch_id} with a different request",
                batch_id=batch.batch_id,
            )
    return batch


async def get_batch(conn: Connection, principal: Principal, batch_id: int) -> BatchRow:
    """Return a batch the caller may see: its creator's, its venue's, or any for an admin.

    Raises:
        BatchNotFound: no such batch, or one the caller may not see (its
            existence is not revealed).
    """
    batch = await queries.get_batch(conn, batch_id=batch_id)
    if batch is None or not (
        batch.user_id == principal.sub
        or can_see_job(principal, user_id=batch.user_id, venue_id=batch.venue_id)
    ):
        raise BatchNotFound(f"batch {batch_id} does not exist")
    return batch
