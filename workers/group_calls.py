"""Group commit for statements many slots make at once.

The slots of a process that call the same provider all begin and end their
calls within milliseconds of each other, each with a statement and a commit of
its own. `GroupCall` runs the requests that arrive while a statement of their
group is in flight together in the next one: no timer, so an idle process
pays no wait, and a busy one one round trip and one commit per batch.

A batch that fails is run again one request at a time, so one bad request
(or a deadlock with another process) fails only its own caller.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

from psycopg_pool import AsyncConnectionPool

from app.db import Connection

logger = logging.getLogger(__name__)

Request = TypeVar("Request")
Result = TypeVar("Result")

MAX_BATCH = 200


class GroupCall(Generic[Request, Result]):
    """Runs concurrent requests of a group in one statement."""

    def __init__(
        self,
        pool: AsyncConnectionPool,
        run: Callable[[Connection, Sequence[Request]], Awaitable[list[Result]]],
    ) -> None:
        self._pool = pool
        self._run = run
        self._pending: dict[Hashable, list[tuple[Request, asyncio.Future[Result]]]] = {}
        self._flushers: dict[Hashable, asyncio.Task[None]] = {}

    async def __call__(self, group: Hashable, request: Request) -> Result:
        """Run `request` with the others of its group; return its result."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._pending.setdefault(group, []).append((request, future))
        flusher = self._flushers.get(group)
        if flusher is None or flusher.done():
            self._flushers[group] = asyncio.create_task(self._flush(group))
        return await future

    async def _flush(self, group: Hashable) -> None:
        while pending := self._pending.get(group):
            batch = pending[:MAX_BATCH]
            del pending[:MAX_BATCH]
            if not pending:
                del self._pending[group]
            try:
                results = await self._run_batch([request for request, _ in batch])
            except Exception as exc:
                if len(batch) == 1:
                    _settle(batch[0][1], exc)
                    continue
                logger.warning(
                    "A batch of calls failed; running them one by one.",
                    exc_info=True,
                    extra={"action": "group_call_split", "count": len(batch)},
                )
                for request, future in batch:
                    try:
                        (result,) = await self._run_batch([request])
                    except Exception as single:
                        _settle(future, single)
                    else:
                        _settle(future, result)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                _settle(future, result)

    async def _run_batch(self, requests: list[Request]) -> list[Result]:
        async with self._pool.connection() as conn:
            return await self._run(conn, requests)


def _settle(future: asyncio.Future[Result], outcome: Result | BaseException) -> None:
    # A caller cancelled meanwhile (shutdown, abort) no longer waits.
    if future.done():
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    else:
        future.set_result(outcome)
