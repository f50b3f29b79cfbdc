"""`python -m bench enqueue`: enqueue throughput, compared with raw procrastinate.

Runs in a scratch database created next to the configured one (and dropped
after), so a live queue is never touched. Every figure is the median of three
runs, and raw procrastinate (its default connector, as a plain procrastinate
user would run it) is measured in the same run on the same jobs, so the ratio
is what to compare across machines.
"""

import logging
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import procrastinate
import psycopg

from app.services.enqueue import JobRequest, enqueue, enqueue_many
from bench.scratch_db import scratch_database

RUNS = 3


@dataclass(frozen=True)
class Figure:
    """One measured row of the table."""

    name: str
    jobs: int
    seconds: float

    @property
    def rate(self) -> float:
        """Return jobs per second."""
        return self.jobs / self.seconds


def analytics_data(index: int) -> dict[str, Any]:
    """Return the payload of a no-key job."""
    return {"eventType": "page_view", "properties": {"n": index}}


def payment_data(index: int) -> dict[str, Any]:
    """Return the payload of a keyed money job (its key is rendered in SQL)."""
    return {
        "venueId": str(uuid.UUID(int=1)),
        "userId": str(uuid.UUID(int=index + 2)),
        "eventId": str(uuid.UUID(int=0)),
        "amount": 1500 + index,
        "currency": "USD",
        "paymentMethodId": "pm_card_visa",
    }


async def _median(
    run: Callable[[], Awaitable[int]], reset: Callable[[], None]
) -> float:
    seconds = []
    for _ in range(RUNS):
        reset()
        started = time.perf_counter()
        await run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _truncate(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "TRUNCATE procrastinate_jobs, procrastinate_events, queue.idempotency_keys CASCADE"
        )
        conn.execute("VACUUM ANALYZE procrastinate_jobs")


async def measure(dsn: str, *, jobs: int, single: int) -> list[Figure]:
    """Measure our enqueue paths and raw procrastinate's on `dsn`."""
    figures: list[Figure] = []
    reset = lambda: _truncate(dsn)  # noqa: E731 - a one-line closure reads best here

    raw_app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))
    async with raw_app.open_async():
        raw = raw_app.configure_task("analytics-track", queue="background")
        envelopes: list[dict[str, Any]] = [
            {"data": analytics_data(i), "meta": {}} for i in range(jobs)
        ]

        async def raw_bulk() -> int:
            return len(await raw.batch_defer_async(*envelopes))

        async def raw_single() -> int:
            for i in range(single):
                await raw.defer_async(data=analytics_data(i), meta={})
            return single

        figures.append(
            Figure(
                "raw procrastinate batch_defer_async",
                jobs,
                await _median(raw_bulk, reset),
            )
        )
        figures.append(
            Figure(
                "raw procrastinate defer_async (sequential)",
                single,
                await _median(raw_single, reset),
            )
        )

    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        plain = [
            JobRequest("background", "analytics-track", analytics_data(i))
            for i in range(jobs)
        ]
        keyed = [
            JobRequest("money", "payment-process", payment_data(i)) for i in range(jobs)
        ]

        async def bulk(batch: list[JobRequest]) -> int:
            async with conn.transaction():
                return len(await enqueue_many(conn, batch))

        async def one_by_one(
            job_type: str, queue: str, make: Callable[[int], dict[str, Any]]
        ) -> int:
            for i in range(single):
                await enqueue(conn, queue=queue, job_type=job_type, data=make(i))
            return single

        figures.append(
            Figure(
                "enqueue_many, no key (analytics-track)",
                jobs,
                await _median(lambda: bulk(plain), reset),
            )
        )
        figures.append(
            Figure(
                "enqueue_many, rendered key (payment-process)",
                jobs,
                await _median(lambda: bulk(keyed), reset),
            )
        )
        figures.append(
            Figure(
                "enqueue (sequential), no key",
                single,
                await _median(
                    lambda: one_by_one("analytics-track", "background", analytics_data),
                    reset,
                ),
            )
        )
        figures.append(
            Figure(
                "enqueue (sequential), rendered key",
                single,
                await _median(
                    lambda: one_by_one("payment-process", "money", payment_data), reset
                ),
            )
        )
    return figures


def render(figures: list[Figure]) -> str:
    """Return the figures as a table with ratios to raw procrastinate."""
    by_name = {figure.name: figure for figure in figures}
    raw_bulk = by_name["raw procrastinate batch_defer_async"].rate
    raw_single = by_name["raw procrastinate defer_async (sequential)"].rate
    lines = [f"{'path':<48} {'jobs':>7} {'seconds':>8} {'jobs/s':>9} {'vs raw':>7}"]
    for figure in figures:
        baseline = raw_single if "sequential" in figure.name else raw_bulk
        lines.append(
            f"{figure.name:<48} {figure.jobs:>7} {figure.seconds:>8.3f} "
            f"{figure.rate:>9,.0f} {figure.rate / baseline:>6.2f}x"
        )
    return "\n".join(lines)


async def run_enqueue_bench(dsn: str, *, jobs: int, single: int) -> list[Figure]:
    """Run the enqueue benchmark in a scratch database and print the table."""
    # procrastinate logs every deferred job at INFO; that would bill the
    # baseline for our log configuration rather than for its own work.
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    with scratch_database(dsn) as scratch:
        figures = await measure(scratch, jobs=jobs, single=single)
    print(
        f"enqueue benchmark: median of {RUNS} runs, scratch database beside the configured one"
    )
    print(render(figures))
    return figures
