"""Operator actions on queues."""

from app.db import Connection
from app.db.queries import queues as queries
from app.db.queries.queues import OverviewRow
from app.domain.errors import UnknownQueue

__all__ = ["OverviewRow", "overview", "set_paused"]


async def set_paused(conn: Connection, queue: str, *, paused: bool) -> None:
    """Pause or resume `queue` (name or alias) for every worker process.

    Pausing takes effect at each worker's next fetch: running jobs finish and
    nothing more is claimed. Resuming wakes the workers through NOTIFY.

    Raises:
        UnknownQueue: no queue has this name.
    """
    if not await queries.set_queue_paused(conn, queue=queue, paused=paused):
        raise UnknownQueue(f'unknown queue "{queue}"')


async def overview(conn: Connection) -> list[OverviewRow]:
    """Return every queue's counts: waiting, scheduled, running, last hour's outcomes."""
    return await queries.queue_overview(conn)
