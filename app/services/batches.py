"""Batches for HTTP callers: jobs counted as one group, with callbacks, and their progress.

A batch is created in one transaction (`queue.enqueue_batch`): its jobs, which
may depend on one another by index, and its callbacks, held until the batch
calls them. Its counts are read from `queue.batch_status`. A caller reads the
batches it created (a venue admin, those of its venue); an admin reads all.
"""

from collections.abc import Sequence

from app.db import Connection
from app.db.queries import enqueue as queries
from app.db.queries.enqueue import BatchRow
from app.domain.access import Principal, can_see_job
from app.domain.errors import BatchNotFound, InvalidDependency
from app.services.caller_enqueue import (
    BatchItem,
    caller_job,
    check_allowed,
    check_dependencies,
)
from app.services.enqueue import EnqueuedBatch, enqueue_batch

__all__ = ["BatchRow", "create_batch", "get_batch"]


async def create_batch(
    conn: Connection,
    *,
    principal: Principal,
    jobs: Sequence[tuple[str, BatchItem]],
    on_complete: tuple[str, BatchItem] | None,
    on_failure: tuple[str, BatchItem] | None,
    request_id: str | None,
) -> EnqueuedBatch:
    """Create a batch of `(queue, item)` jobs for an HTTP caller, all or nothing.

    Raises:
        Forbidden: the caller may not enqueue one of the jobs or callbacks.
        PayloadInvalid: a job's data does not match its model.
        InvalidDependency: a job depends on a job the caller may not see, or
            names a later job of the batch.
        EnqueueRejected: the database refused a job, naming it.
    """
    for index, (_, item) in enumerate(jobs):
        check_allowed(principal, item.job_type, item.data)
        await check_dependencies(
            conn, principal, item.options, in_one_call=True, index=index
        )
    for name, callback in (("on_complete", on_complete), ("on_failure", on_failure)):
        if callback is None:
            continue
        _, item = callback
        check_allowed(principal, item.job_type, item.data)
        if item.options.depends_on:
            raise InvalidDependency(
                f"{name}: a callback waits for its batch, not for dependsOn"
            )

    venues = {
        venue if isinstance(venue := item.data.get("venueId"), str) else None
        for _, item in jobs
    }
    owner = {
        "user_id": principal.sub,
        "venue_id": venues.pop() if len(venues) == 1 else None,
    }
    async with conn.transaction():
        return await enqueue_batch(
            conn,
            [caller_job(principal, queue, item, request_id) for queue, item in jobs],
            on_complete=caller_job(principal, *on_complete, request_id)
            if on_complete
            else None,
            on_failure=caller_job(principal, *on_failure, request_id)
            if on_failure
            else None,
            owner=owner,
        )


async def get_batch(conn: Connection, principal: Principal, batch_id: int) -> BatchRow:
    """Return a batch the caller may see.

    Raises:
        BatchNotFound: no such batch, or one the caller may not see (its
            existence is not revealed).
    """
    batch = await queries.get_batch(conn, batch_id=batch_id)
    if batch is None or not can_see_job(
        principal, user_id=batch.user_id, venue_id=batch.venue_id
    ):
        raise BatchNotFound(f"batch {batch_id} does not exist")
    return batch
