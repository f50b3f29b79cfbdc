"""The jobs of one worker process: a lane per queue and what they share.

procrastinate's tables, defer functions, task registry, retry strategies and
periodic deferrer are used as they are; its per-job `Worker` loop is not. The
executor runs
- one lane per served queue (`workers.lane`), each registered as a
  procrastinate worker, so heartbeats, pruning and the rescue see it;
- one completion writer for every lane (`workers.completions`);
- one LISTEN connection: a job inserted into a queue wakes that queue's lane,
  an abort request reaches the lane running the job;
- the heartbeats, the abort poll (for notifications missed while the listener
  reconnected), the periodic deferrer, the policy refresh and the counter
  reports (`app.services.fleet_counters`). Each of these side loops
  restarts after an error instead of stopping the process.

On stop: every lane returns its unstarted jobs and lets running ones finish
within the grace period, the pending completions are written, and the worker
rows are deleted.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from procrastinate import App, periodic
from procrastinate.job_context import AbortReason
from procrastinate.jobs import Notification

from app.db.queries.worker import heartbeat_workers, prune_stalled_workers
from app.services import fleet_counters
from workers.completions import CompletionWriter
from workers.deps import WorkerDeps
from workers.lane import Lane, LaneSettings
from workers.policy import PolicyCache

logger = logging.getLogger(__name__)

_CHANNEL_PREFIX = "procrastinate_queue_v1#"
_SIDE_LOOP_RETRY_S = 1.0
_SIDE_LOOP_STOP_S = 5.0


@dataclass(frozen=True)
class ExecutorSettings:
    """Timings shared by the lanes of a process."""

    shutdown_grace_s: float = 30.0
    heartbeat_s: float = 10.0
    stalled_after_s: float = 30.0
    abort_poll_s: float = 5.0
    policy_refresh_s: float = 5.0
    metrics_report_s: float = 5.0


class Executor:
    """Runs the lanes of one process until asked to stop."""

    def __init__(
        self,
        app: App,
        deps: WorkerDeps,
        policies: PolicyCache,
        lanes: Sequence[tuple[str, LaneSettings]],
        settings: ExecutorSettings,
    ) -> None:
        self._app = app
        self._deps = deps
        self._policies = policies
        self._settings = settings
        self._writer = CompletionWriter(deps.pool)
        self._lanes = {
            queue: Lane(
                queue, lane, app=app, deps=deps, writer=self._writer, policies=policies
            )
            for queue, lane in lanes
        }

    async def run(self, stop: asyncio.Event) -> None:
        """Run every lane until `stop` is set, then shut down gracefully."""
        manager = self._app.job_manager
        async with self._deps.pool.connection() as conn:
            await prune_stalled_workers(
                conn, stalled_after_s=self._settings.stalled_after_s
            )
        for lane in self._lanes.values():
            await lane.register()
        side = [
            self._forever("heartbeats", self._heartbeats),
            self._forever("abort poll", self._poll_aborts),
            self._forever("listener", self._listen),
            self._forever("periodic deferrer", self._defer_periodic),
            self._forever("policy refresh", self._refresh_policies),
            self._forever("counter reports", self._report_counters),
        ]
        lanes = [
            asyncio.create_task(lane.run(), name=f"lane {queue}")
            for queue, lane in self._lanes.items()
        ]
        logger.info(
            "Workers started.",
            extra={"action": "workers_started", "queues": list(self._lanes)},
        )
        try:
            await _until_set_or_failed(stop, lanes)
        finally:
            logger.info("Stopping workers.", extra={"action": "workers_stopping"})
            grace = self._settings.shutdown_grace_s
            await asyncio.gather(*(lane.stop(grace) for lane in self._lanes.values()))
            # The claim loops end at their next turn; one stuck on the database
            # is cancelled (what it claimed and did not start is the rescue's).
            _, stuck = await asyncio.wait(lanes, timeout=_SIDE_LOOP_STOP_S)
            for task in stuck:
                task.cancel()
            await asyncio.gather(*lanes, return_exceptions=True)
            await self._writer.close()
            for task in side:
                task.cancel()
            # A side loop cancelled mid-connect or mid-query may take a while
            # to unwind (psycopg cancels the query on the server); it must not
            # hold the process past its shutdown.
            _, stuck = await asyncio.wait(side, timeout=_SIDE_LOOP_STOP_S)
            if stuck:
                logger.warning(
                    "Side loops did not stop in time; leaving them.",
                    extra={
                        "action": "side_loops_stuck",
                        "loops": sorted(task.get_name() for task in stuck),
                    },
                )
            for lane in self._lanes.values():
                if lane.worker_id is not None:
                    with contextlib.suppress(Exception):
                        await manager.unregister_worker(lane.worker_id)
        logger.info("Workers stopped.", extra={"action": "workers_stopped"})

    def _forever(
        self, name: str, loop: Callable[[], Awaitable[None]]
    ) -> asyncio.Task[None]:
        async def run() -> None:
            while True:
                try:
                    await loop()
                    return
                except Exception:
                    logger.warning(
                        "A worker side loop failed; restarting it.",
                        exc_info=True,
                        extra={"action": "side_loop_failed", "loop": name},
                    )
                    await asyncio.sleep(_SIDE_LOOP_RETRY_S)

        return asyncio.create_task(run(), name=name)

    async def _heartbeats(self) -> None:
        # Every lane in one statement. After an outage the first beat is due
        # at once (the side loop restarts after a failure), not a period later.
        while True:
            lanes = [lane for lane in self._lanes.values() if lane.worker_id]
            async with self._deps.pool.connection() as conn:
                alive = await heartbeat_workers(
                    conn,
                    worker_ids=[lane.worker_id for lane in lanes if lane.worker_id],
                )
            for lane in lanes:
                if lane.worker_id not in alive:
                    # Pruned as stalled (cut off longer than stalled_after_s):
                    # its running jobs are the rescue's now; new claims need a
                    # row of their own.
                    logger.warning(
                        "This worker's row was pruned; registering again.",
                        extra={"action": "worker_reregistered", "queue": lane.queue},
                    )
                    await lane.register()
            await asyncio.sleep(self._settings.heartbeat_s)

    async def _report_counters(self) -> None:
        # Cancelled after the last completions are written: its final report
        # then counts every attempt of this process.
        await fleet_counters.report_forever(
            self._deps.pool, every_s=self._settings.metrics_report_s
        )

    async def _poll_aborts(self) -> None:
        while True:
            await asyncio.sleep(self._settings.abort_poll_s)
            if any(lane.running for lane in self._lanes.values()):
                job_ids = await self._app.job_manager.list_jobs_to_abort_async()
                self._abort(job_ids)

    async def _listen(self) -> None:
        await self._app.job_manager.listen_for_jobs(
            on_notification=self._notified, queues=list(self._lanes)
        )

    async def _notified(self, *, channel: str, notification: Notification) -> None:
        if notification["type"] == "abort_job_requested":
            self._abort([notification["job_id"]])
        elif notification["type"] == "job_inserted":
            lane = self._lanes.get(channel.removeprefix(_CHANNEL_PREFIX))
            if lane is not None:
                lane.wake()

    def _abort(self, job_ids: Iterable[int]) -> None:
        for job_id in job_ids:
            for lane in self._lanes.values():
                lane.abort(job_id, AbortReason.USER_REQUEST)

    async def _defer_periodic(self) -> None:
        deferrer = periodic.PeriodicDeferrer(
            registry=self._app.periodic_registry, **self._app.periodic_defaults
        )
        await deferrer.worker()

    async def _refresh_policies(self) -> None:
        await self._policies.keep_fresh(
            self._deps.pool, every_s=self._settings.policy_refresh_s
        )


async def _until_set_or_failed(
    stop: asyncio.Event, lanes: list[asyncio.Task[None]]
) -> None:
    """Return when `stop` is set, or raise what a lane died of."""
    stopper = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait(
            [stopper, *lanes], return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopper.cancel()
    for task in done:
        if task is not stopper and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
