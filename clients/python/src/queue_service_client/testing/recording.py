"""In-memory stand-ins for the HTTP clients, for tests: `RecordingClient`, `AsyncRecordingClient`."""

import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Unpack, overload

from pydantic import JsonValue

from queue_service_client.payloads import Payload
from queue_service_client.schemas import (
    BatchCreated,
    EnqueueArgs,
    EnqueuedJob,
    EnqueuedJobs,
    JobSpec,
)
from queue_service_client.testing.matching import type_name
from queue_service_client.testing.recorder import (
    MAX_INLINE_ROUNDS,
    P,
    RecordedJob,
    Recorder,
    handler_argument,
)


class RecordingClient(Recorder):
    """An in-memory `QueueClient` for tests: it records jobs instead of sending them."""

    @overload
    def enqueue(
        self, payload: Payload, /, **args: Unpack[EnqueueArgs]
    ) -> EnqueuedJob: ...

    @overload
    def enqueue(
        self,
        job_type: str,
        data: Mapping[str, JsonValue],
        /,
        **args: Unpack[EnqueueArgs],
    ) -> EnqueuedJob: ...

    def enqueue(
        self,
        job_type_or_payload: str | Payload,
        data: Mapping[str, JsonValue] | None = None,
        /,
        **args: Unpack[EnqueueArgs],
    ) -> EnqueuedJob:
        """Record one job, as `QueueClient.enqueue` adds it."""
        return self._enqueue(job_type_or_payload, data, args)

    def enqueue_many(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        queue: str | None = None,
        stop_on_error: bool = False,
        validate_all: bool = False,
        request_id: str | None = None,
    ) -> EnqueuedJobs:
        """Record up to 100 jobs of one queue, as `QueueClient.enqueue_many` adds them."""
        return self._enqueue_many(
            jobs,
            queue=queue,
            stop_on_error=stop_on_error,
            validate_all=validate_all,
            request_id=request_id,
        )

    def create_batch(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        on_complete: JobSpec | Payload | None = None,
        on_failure: JobSpec | Payload | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> BatchCreated:
        """Record a batch and its callbacks, as `QueueClient.create_batch` adds them."""
        return self._create_batch(
            jobs,
            on_complete=on_complete,
            on_failure=on_failure,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )

    @overload
    def run_inline(
        self,
        job_type: type[P],
        handler: Callable[[P], object],
        *,
        raise_errors: bool = True,
    ) -> list[RecordedJob]: ...

    @overload
    def run_inline(
        self,
        job_type: str,
        handler: Callable[[RecordedJob], object],
        *,
        raise_errors: bool = True,
    ) -> list[RecordedJob]: ...

    def run_inline(
        self,
        job_type: str | type[Payload],
        handler: Callable[[Any], object],
        *,
        raise_errors: bool = True,
    ) -> list[RecordedJob]:
        """Hand each waiting job of `job_type` to `handler`, oldest first, and mark it completed.

        A payload model class as `job_type` hands the handler each job's data
        as that model; a job type's name hands it the `RecordedJob`. Jobs the
        handler enqueues of the same type run too; jobs waiting for
        dependencies run once those have completed, and batch callbacks once
        their batch calls them.

        Args:
            job_type: A payload model class, or a job type's name.
            handler: Your function: what the worker's task would do.
            raise_errors: Re-raise what the handler raised (the job is marked
                failed first); else mark it failed and go on.

        Returns:
            The jobs run, as they ended.
        """
        name = type_name(job_type)
        ran: list[RecordedJob] = []
        for _ in range(MAX_INLINE_ROUNDS):
            recorded = self._next_runnable(name)
            if recorded is None:
                break
            try:
                handler(handler_argument(recorded, job_type))
            except Exception as exc:
                ran.append(self._set(recorded.job_id, state="failed", error=exc))
                self._settle()
                if raise_errors:
                    raise
                continue
            ran.append(self._set(recorded.job_id, state="completed"))
        return ran


class AsyncRecordingClient(Recorder):
    """An in-memory `AsyncQueueClient` for tests: it records jobs instead of sending them."""

    @overload
    async def enqueue(
        self, payload: Payload, /, **args: Unpack[EnqueueArgs]
    ) -> EnqueuedJob: ...

    @overload
    async def enqueue(
        self,
        job_type: str,
        data: Mapping[str, JsonValue],
        /,
        **args: Unpack[EnqueueArgs],
    ) -> EnqueuedJob: ...

    async def enqueue(
        self,
        job_type_or_payload: str | Payload,
        data: Mapping[str, JsonValue] | None = None,
        /,
        **args: Unpack[EnqueueArgs],
    ) -> EnqueuedJob:
        """Record one job, as `AsyncQueueClient.enqueue` adds it."""
        return self._enqueue(job_type_or_payload, data, args)

    async def enqueue_many(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        queue: str | None = None,
        stop_on_error: bool = False,
        validate_all: bool = False,
        request_id: str | None = None,
    ) -> EnqueuedJobs:
        """Record up to 100 jobs of one queue, as `AsyncQueueClient.enqueue_many` adds them."""
        return self._enqueue_many(
            jobs,
            queue=queue,
            stop_on_error=stop_on_error,
            validate_all=validate_all,
            request_id=request_id,
        )

    async def create_batch(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        on_complete: JobSpec | Payload | None = None,
        on_failure: JobSpec | Payload | None = None,
        idempotency_key: str | None = None,
        request_id: str | None = None,
    ) -> BatchCreated:
        """Record a batch and its callbacks, as `AsyncQueueClient.create_batch` adds them."""
        return self._create_batch(
            jobs,
            on_complete=on_complete,
            on_failure=on_failure,
            idempotency_key=idempotency_key,
            request_id=request_id,
        )

    @overload
    async def run_inline(
        self,
        job_type: type[P],
        handler: Callable[[P], object | Awaitable[object]],
        *,
        raise_errors: bool = True,
    ) -> list[RecordedJob]: ...

    @overload
    async def run_inline(
        self,
        job_type: str,
        handler: Callable[[RecordedJob], object | Awaitable[object]],
        *,
        raise_errors: bool = True,
    ) -> list[RecordedJob]: ...

    async def run_inline(
        self,
        job_type: str | type[Payload],
        handler: Callable[[Any], object | Awaitable[object]],
        *,
        raise_errors: bool = True,
    ) -> list[RecordedJob]:
        """Hand each waiting job of `job_type` to `handler` (sync or async); see `RecordingClient.run_inline`."""
        name = type_name(job_type)
        ran: list[RecordedJob] = []
        for _ in range(MAX_INLINE_ROUNDS):
            recorded = self._next_runnable(name)
            if recorded is None:
                break
            try:
                outcome = handler(handler_argument(recorded, job_type))
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as exc:
                ran.append(self._set(recorded.job_id, state="failed", error=exc))
                self._settle()
                if raise_errors:
                    raise
                continue
            ran.append(self._set(recorded.job_id, state="completed"))
        return ran
