"""A task tells how far it is: `await report_progress(context, 40, "rows read")`.

The percent (0 to 100) and a short message go to `queue.job_progress`
(`queue.report_progress`), where the API (`GET /jobs/:id`), `queue.jobs` and
the console read them. A task may call it as often as it likes: a job's
reports are written at most once per `MIN_INTERVAL_S`, except the first and
a report of 100 (per attempt), so a loop that reports per row costs the database a write a
second. A report of a job that is no longer running (rescued, aborted) is
dropped by the database.
"""

import time
from collections import OrderedDict

from procrastinate.job_context import JobContext

from app.db.queries.progress import report_progress as record_progress
from workers.attempts import job_id_of
from workers.deps import DEPS_KEY, WorkerDeps

MIN_INTERVAL_S = 1.0
MESSAGE_MAX = 200
# Jobs whose last write is remembered, oldest use dropped first: enough for
# every slot of a process, small enough to forget finished jobs.
_REMEMBERED = 10_000
_last_write: OrderedDict[tuple[int, float], float] = OrderedDict()


async def report_progress(
    context: JobContext, percent: float, message: str = ""
) -> bool:
    """Record the job's progress now, or drop it if the job wrote one under a second ago.

    Returns True when the report was written.

    Raises:
        ValueError: `percent` is not a number from 0 to 100.
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"progress must be a percent from 0 to 100, got {percent!r}")
    job_id = job_id_of(context.job)
    # Per attempt: a retried job's first report is written at once.
    attempt = (job_id, context.start_timestamp)
    now = time.monotonic()
    last = _last_write.get(attempt)
    if last is not None and now - last < MIN_INTERVAL_S and percent < 100:
        return False
    _last_write[attempt] = now
    _last_write.move_to_end(attempt)
    if len(_last_write) > _REMEMBERED:
        _last_write.popitem(last=False)
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    # NUL cannot be stored in text; a message is for people, so it is replaced.
    text = message.replace("\x00", "\ufffd")[:MESSAGE_MAX]
    async with deps.pool.connection() as conn:
        return await record_progress(conn, job_id=job_id, percent=percent, message=text)
