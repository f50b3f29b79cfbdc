"""One queue in one worker process: its claims, its local queue and its slots.

A lane claims jobs in batches into a local queue and runs them in a fixed set
of slots (the queue's concurrency), each a long-lived coroutine that takes the
next job: no task, semaphore or log context is built per job.

Claims are sized by what the lane runs, not by its free slots. It keeps about
`claim_buffer_s` of work waiting (its measured start rate times that), on top
of one job per free slot, and claims again when half of that is gone, so a
queue of concurrency 10 running short jobs claims hundreds a statement while
a queue of slow jobs claims no more than it can start. A claimed job that has
not started within `claim_lease_s` goes back to the queue, and so does every
claimed, unstarted job when the lane stops. The local queue is a heap in the
queue's order (priority, then id).

A claim also asks, once for its batch, which of its jobs' idempotency keys
already have a succeeded attempt. Each attempt then runs through the job chain
(`workers.job_chain`) and is settled by `workers.settle`.
"""

import asyncio
import functools
import heapq
import logging
import math
import time
from dataclasses import dataclass
from typing import cast

from procrastinate import App
from procrastinate import exceptions as procrastinate_exceptions
from procrastinate.job_context import AbortReason, JobContext
from psycopg_pool import AsyncConnectionPool

from app.db.pool import check_in_background
from app.db.queries.worker import (
    ClaimedJob,
    RecordedOutcome,
    fetch_jobs,
    register_worker_queue,
    release_jobs,
    succeeded_outcomes_for_keys,
)
from app.observability import metrics
from workers.attempts import claimed_job, idempotency_key
from workers.completions import CompletionWriter
from workers.deps import DEPS_KEY, WorkerDeps
from workers.job_chain import body_call, run_attempt
from workers.outages import is_outage, until_done
from workers.policy import PolicyCache
from workers.settle import Settler, not_found

logger = logging.getLogger(__name__)

_RATE_WINDOW_S = 0.1
_CLAIM_RETRY_CAP_S = 5.0
_WRITER_RECHECK_S = 0.5


@dataclass(frozen=True)
class LaneSettings:
    """How a lane claims and runs the jobs of its queue."""

    concurrency: int
    poll_interval_s: float = 5.0
    claim_lease_s: float = 5.0
    claim_buffer_s: float = 0.5
    max_claim: int = 1000


@dataclass
class _Running:
    slot: asyncio.Task[None]
    is_async: bool


class Lane:
    """Claims and runs the jobs of one queue."""

    def __init__(
        self,
        queue: str,
        settings: LaneSettings,
        *,
        app: App,
        deps: WorkerDeps,
        writer: CompletionWriter,
        policies: PolicyCache,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.worker_id: int | None = None
        self._app = app
        self._pool: AsyncConnectionPool = deps.pool
        self._writer = writer
        self._policies = policies
        self._settler = Settler(
            pool=deps.pool,
            writer=writer,
            rows=deps.completion_rows,
            policies=policies,
            lock_freed=self.wake,
        )
        self._queues = (queue,)
        self._context = {DEPS_KEY: deps}
        # (-priority, id, claimed at, row): the heap's order is the queue's.
        self._ready: list[tuple[int, int, float, ClaimedJob]] = []
        self._running: dict[int, _Running] = {}
        self._aborts: dict[int, AbortReason] = {}
        # Job id → the succeeded attempt its key already had at the claim.
        self._recorded: dict[int, RecordedOutcome] = {}
        self._slots: list[asyncio.Task[None]] = []
        self._signal = asyncio.Event()  # wakes the claims
        self._woken = False  # a NOTIFY or the poll: claim even if last found none
        self._refill_at = 0
        self._has_ready = asyncio.Event()
        self._stopping = False
        self._exhausted = False  # the last claim found fewer jobs than it asked
        self._started = 0
        self._sampled_at = time.monotonic()
        self._rate = 0.0  # jobs started per second, smoothed
        self._claimed = metrics.JOBS_CLAIMED.labels(queue)

    @property
    def running(self) -> int:
        """Return how many jobs run now."""
        return len(self._running)

    async def register(self) -> None:
        """Register the lane's worker row and the queue it serves."""
        self.worker_id = await self._app.job_manager.register_worker()
        async with self._pool.connection() as conn:
            # The monitor and queue.explain_job tell "no worker listens" from it.
            await register_worker_queue(
                conn, worker_id=self.worker_id, queue_name=self.queue
            )

    def wake(self) -> None:
        """Claim now: jobs may have arrived."""
        self._woken = True
        self._signal.set()

    def abort(self, job_id: int, reason: AbortReason) -> None:
        """Ask a running job to stop; an async body is cancelled at once."""
        running = self._running.get(job_id)
        if running is None or job_id in self._aborts:
            return
        self._aborts[job_id] = reason
        if running.is_async:
            running.slot.cancel()
        # A sync body sees it through context.should_abort().

    async def run(self) -> None:
        """Claim and run jobs until `stop` is called."""
        self._slots = [
            asyncio.create_task(self._slot(), name=f"{self.queue} slot {index}")
            for index in range(self.settings.concurrency)
        ]
        await self._claim_loop()

    async def stop(self, grace_s: float) -> None:
        """Return unstarted jobs, let running ones finish, then interrupt them."""
        self._stopping = True
        self._signal.set()
        self._has_ready.set()
        unstarted = [row.id for *_, row in self._ready]
        self._ready.clear()
        if unstarted:
            await self._release(unstarted)
        if not self._slots:
            return
        _, late = await asyncio.wait(self._slots, timeout=grace_s)
        if late:
            logger.info(
                "Interrupting jobs still running after the grace period.",
                extra={"action": "jobs_interrupted", "queue": self.queue},
            )
            for job_id in list(self._running):
                self.abort(job_id, AbortReason.SHUTDOWN)
            # A slot still settling its job waits for the database: stop it too;
            # its job is the rescue's. A sync body returns when it sees
            # should_abort(); it cannot be cancelled.
            bodies = {running.slot for running in self._running.values()}
            for slot in late - bodies:
                slot.cancel()
            await asyncio.wait(late)

    # Claims

    async def _claim_loop(self) -> None:
        delay = 0.1
        next_lease_check = 0.0
        while not self._stopping:
            now = time.monotonic()
            if self._ready and now >= next_lease_check:
                next_lease_check = now + self.settings.claim_lease_s / 4
                await self._release_expired(now)
            woken, self._woken = self._woken, False
            self._signal.clear()
            wanted = self._wanted(now, woken)
            if wanted:
                try:
                    got = await self._claim(wanted)
                except Exception as exc:
                    if is_outage(exc):
                        check_in_background(self._pool)
                    logger.warning(
                        "Could not claim jobs; retrying.",
                        exc_info=True,
                        extra={"action": "claim_failed", "queue": self.queue},
                    )
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _CLAIM_RETRY_CAP_S)
                    self._woken = True
                    continue
                delay = 0.1
                self._exhausted = got < wanted
                if not self._exhausted:
                    continue
            timeout = self.settings.poll_interval_s
            if self._ready:
                timeout = min(timeout, self.settings.claim_lease_s / 4)
            if self._writer.failing:
                timeout = min(timeout, _WRITER_RECHECK_S)
            try:
                async with asyncio.timeout(timeout):
                    await self._signal.wait()
            except TimeoutError:
                self._woken = True  # the polling backstop

    def _wanted(self, now: float, woken: bool) -> int:
        """Return how many jobs to claim now (0: none)."""
        if self._writer.failing:
            # Completions cannot be written: claim nothing until they are.
            return 0
        elapsed = now - self._sampled_at
        if elapsed >= _RATE_WINDOW_S:
            sample = self._started / elapsed
            # Up at once, down gently: a pause between bursts is not a slowdown.
            self._rate = max(sample, 0.8 * self._rate + 0.2 * sample)
            self._started = 0
            self._sampled_at = now
        settings = self.settings
        buffer = min(
            settings.max_claim, math.ceil(self._rate * settings.claim_buffer_s)
        )
        # Refill at half: claim in batches, not one job per finished one.
        self._refill_at = (settings.concurrency + buffer) // 2
        free = settings.concurrency - len(self._running)
        deficit = min(settings.max_claim, free + buffer - len(self._ready))
        if deficit <= 0:
            return 0
        if woken or (not self._exhausted and len(self._ready) <= self._refill_at):
            return deficit
        return 0

    def _poke(self) -> None:
        # From the slots: wake the claims when the local queue runs low.
        if not self._exhausted and len(self._ready) <= self._refill_at:
            self._signal.set()

    async def _claim(self, wanted: int) -> int:
        if self.worker_id is None:
            raise RuntimeError(f"lane {self.queue} claims before it registered")
        async with self._pool.connection() as conn:
            rows = await fetch_jobs(
                conn, queue_name=self.queue, worker_id=self.worker_id, max_jobs=wanted
            )
            keyed = {row.id: key for row in rows if (key := idempotency_key(row))}
            if keyed:
                # Keys that already succeeded, once for the batch, not per job.
                done = await succeeded_outcomes_for_keys(
                    conn, keys=list(set(keyed.values()))
                )
                for job_id, key in keyed.items():
                    if key in done:
                        self._recorded[job_id] = done[key]
        if not rows:
            return 0
        self._claimed.inc(len(rows))
        if self._stopping:
            await self._release([row.id for row in rows])
            return len(rows)
        claimed_at = time.monotonic()
        for row in rows:
            heapq.heappush(self._ready, (-row.priority, row.id, claimed_at, row))
        self._has_ready.set()
        return len(rows)

    async def _release_expired(self, now: float) -> None:
        deadline = now - self.settings.claim_lease_s
        expired = [entry for entry in self._ready if entry[2] <= deadline]
        if not expired:
            return
        self._ready = [entry for entry in self._ready if entry[2] > deadline]
        heapq.heapify(self._ready)
        await self._release([entry[1] for entry in expired], insist=True)

    async def _release(self, job_ids: list[int], *, insist: bool = False) -> None:
        # `insist`: retry through outages while the lane runs, since jobs left
        # 'doing' under a live worker would wait for nobody. A stopping lane
        # tries once: its worker row goes when it stops, and the rescue
        # returns what is left.
        for job_id in job_ids:
            self._recorded.pop(job_id, None)

        async def release() -> None:
            async with self._pool.connection() as conn:
                await release_jobs(conn, job_ids=job_ids)

        try:
            await until_done(
                self._pool,
                "release",
                release,
                keep_trying=lambda: insist and not self._stopping,
            )
        except Exception:
            logger.warning(
                "Could not return unstarted jobs; the rescue returns them once this worker stops.",
                exc_info=True,
                extra={"action": "release_failed", "count": len(job_ids)},
            )
            return
        logger.info(
            "Returned unstarted jobs.",
            extra={
                "action": "jobs_released",
                "queue": self.queue,
                "count": len(job_ids),
            },
        )

    # Slots

    async def _slot(self) -> None:
        while True:
            while not self._ready or self._stopping:
                if self._stopping:
                    return
                self._has_ready.clear()
                await self._has_ready.wait()
            *_, row = heapq.heappop(self._ready)
            if row.worker_id is not None:  # always: the claim set it
                self._writer.started(row.worker_id, row.id)
            self._started += 1
            self._poke()
            await self._run(row)
            self._poke()

    async def _run(self, row: ClaimedJob) -> None:
        job = claimed_job(row)
        context = JobContext(
            app=self._app,
            worker_name=self.queue,
            worker_queues=self._queues,
            job=job,
            start_timestamp=time.time(),
            additional_context=self._context,
            abort_reason=functools.partial(self._aborts.get, row.id),
        )
        task = self._app.tasks.get(job.task_name)
        recorded = self._recorded.pop(row.id, None)
        error: BaseException | None
        if task is None:
            attempt, error = not_found(job), procrastinate_exceptions.TaskNotFound()
        else:
            call, is_async = body_call(task, context)
            slot = cast(asyncio.Task[None], asyncio.current_task())
            self._running[row.id] = _Running(slot, is_async)
            try:
                attempt, error = await run_attempt(
                    context,
                    call,
                    recorded,
                    timeout_s=self._policies.execution_timeout_s(
                        job.queue, job.task_name
                    ),
                )
            finally:
                del self._running[row.id]
        reason = self._aborts.pop(row.id, None)
        if isinstance(error, asyncio.CancelledError) and reason is not None:
            # The cancel was ours, for this job: the slot lives on.
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
        try:
            await self._settler.settle(job, task, attempt, error)
        except Exception:
            logger.exception(
                "Could not settle a job; the rescue returns it when this worker stops.",
                extra={"action": "settle_failed", "job_id": row.id},
            )
        if isinstance(error, asyncio.CancelledError) and reason is None:
            raise error  # the process is being torn down
