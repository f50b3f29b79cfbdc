"""What the console shows live, read once per process for every viewer.

Each API process runs one `ConsoleFeed`. While someone watches, it reads the
queues' counts when jobs are inserted (LISTEN on the channel
`queue.notify_jobs_inserted` notifies once per statement) and every
`refresh_s` otherwise (completions send no notification), but never more
than once per `coalesce_s`: a burst of 10,000 inserted jobs is one read, and
a hundred viewers are one read too. The charts are read every `charts_s`:
their points come from the monitor's snapshots and the hourly rollups, which
change no faster. While nobody watches it reads nothing.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from app.db import Connection, Pool
from app.db.notifications import jobs_inserted
from app.db.queries import console as queries
from app.db.queries import metrics as metric_queries
from app.db.queries.console import DepthPoint, ThroughputPoint
from app.db.queries.metrics import MinuteThroughput, QueueTrendPoint
from app.db.queries.queues import OverviewRow, queue_overview

logger = logging.getLogger(__name__)

# How long the LISTEN task gets to close when the feed stops.
LISTENER_STOP_S = 5.0

__all__ = [
    "Charts",
    "ConsoleFeed",
    "DepthPoint",
    "LiveView",
    "MinuteThroughput",
    "QueueTrendPoint",
    "ThroughputPoint",
]

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
_LISTEN_RETRY_S = 5.0


@dataclass(frozen=True)
class Charts:
    """The overview's charts: depth and throughput over the last hour and day."""

    depth_hour: list[DepthPoint]
    depth_day: list[QueueTrendPoint]  # hourly peaks
    throughput_hour: list[MinuteThroughput]
    throughput_day: list[ThroughputPoint]
    read_at: datetime


@dataclass(frozen=True)
class LiveView:
    """One reading for every viewer: the queues now, the charts as last read."""

    version: int
    queues: list[OverviewRow]
    charts: Charts
    read_at: datetime


async def read_charts(conn: Connection) -> Charts:
    """Read the overview's charts (four statements)."""
    now = datetime.now(UTC)
    return Charts(
        depth_hour=await queries.depth_since(conn, since=now - HOUR),
        depth_day=await metric_queries.queue_trend(conn, since=now - DAY),
        throughput_hour=await metric_queries.throughput_per_minute(
            conn, since=now - HOUR, queue=None
        ),
        throughput_day=await queries.throughput_per_hour(conn, since=now - DAY),
        read_at=now,
    )


async def read_view(pool: Pool) -> LiveView:
    """Read the queues and the charts now, for one page, on one connection."""
    async with pool.connection() as conn:
        charts = await read_charts(conn)
        queues = await queue_overview(conn)
    return LiveView(0, queues, charts, charts.read_at)


@dataclass
class ConsoleFeed:
    """The live readings of one process, shared by its viewers."""

    pool: Pool
    dsn: str  # for the LISTEN connection, outside the pool
    coalesce_s: float = 1.0
    refresh_s: float = 2.0
    charts_s: float = 30.0
    _latest: LiveView | None = None
    _viewers: int = 0
    _wanted: asyncio.Event = field(default_factory=asyncio.Event)
    _published: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def latest(self) -> LiveView | None:
        """The last reading, if any (versions count the reads)."""
        return self._latest

    async def run(self) -> None:
        """Read while someone watches, until cancelled."""
        listener = asyncio.create_task(self._listen(), name="console listener")
        charts: Charts | None = None
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wanted.wait(), self.refresh_s)
                self._wanted.clear()
                if self._viewers:
                    try:
                        charts = await self._read(charts)
                    except Exception:
                        # The database is down: viewers keep the last reading.
                        logger.debug("The console feed could not read.", exc_info=True)
                # However many notifications arrived, one read per period.
                await asyncio.sleep(self.coalesce_s)
        finally:
            listener.cancel()
            # Bounded: a LISTEN connection that does not close (its server
            # gone quiet) must not keep the feed, and the API, from stopping.
            await asyncio.wait([listener], timeout=LISTENER_STOP_S)

    async def views(self) -> AsyncGenerator[LiveView, None]:
        """Yield each reading made after the caller started watching.

        Not the last one made before: the caller's page was read just now,
        and an older reading would put it back in time (a queue paused a
        moment ago shown running), by hours when nobody watched for hours.
        """
        self._viewers += 1
        self._wanted.set()
        try:
            seen = self._latest.version if self._latest is not None else -1
            while True:
                latest = self._latest
                if latest is not None and latest.version != seen:
                    seen = latest.version
                    yield latest
                published = self._published
                await published.wait()
        finally:
            self._viewers -= 1

    async def _read(self, charts: Charts | None) -> Charts:
        now = datetime.now(UTC)
        async with self.pool.connection() as conn:
            if charts is None or now - charts.read_at >= timedelta(
                seconds=self.charts_s
            ):
                charts = await read_charts(conn)
            queues = await queue_overview(conn)
        version = self._latest.version + 1 if self._latest else 0
        self._latest = LiveView(version, queues, charts, now)
        # Wake every waiting viewer, and give the next ones a fresh event.
        published, self._published = self._published, asyncio.Event()
        published.set()
        return charts

    async def _listen(self) -> None:
        while True:
            try:
                async for _ in jobs_inserted(self.dsn):
                    self._wanted.set()
            except Exception:
                logger.debug("The console's LISTEN failed; retrying.", exc_info=True)
            await asyncio.sleep(_LISTEN_RETRY_S)
