"""Operator actions on queues."""

from app.db import Connection
from app.db.queries import queues as queries
from app.domain.errors import UnknownQueue


async def set_paused(conn: Connection, queue: str, *, paused: bool) -> None:
    """Pause or resume `queue` (name or alias) for every worker process.

    Pausing takes effect at each worker's next fetch: running jobs finish and
    nothing more is claimed. Resuming wakes the workers through NOTIFY.

    Raises:
        UnknownQueue: no queue has this name.
    """
    if not await queries.set_queue_paused(conn, queue=queue, paused=paused):
        raise UnknownQueue(f'unknown queue "{queue}"')
