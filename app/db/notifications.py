"""Notifications a process waits for outside the pool: inserted jobs.

`queue.notify_jobs_inserted` sends one notification per statement that
inserted waiting jobs, on procrastinate's any-queue channel. The console's
live feed (`app.services.console_feed`) listens there, on a connection of its
own: a LISTEN holds its connection for as long as it listens.
"""

from collections.abc import AsyncIterator

import psycopg

ANY_QUEUE_CHANNEL = "procrastinate_any_queue_v1"


async def jobs_inserted(dsn: str) -> AsyncIterator[None]:
    """Yield once per notification of inserted jobs, until the connection fails.

    Raises:
        psycopg.OperationalError: the connection could not be opened or was lost.
    """
    async with await psycopg.AsyncConnection.connect(
        dsn, autocommit=True, application_name="queue-service-console"
    ) as conn:
        await conn.execute(f'LISTEN "{ANY_QUEUE_CHANNEL}"')
        async for _ in conn.notifies():
            yield
