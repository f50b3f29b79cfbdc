"""The HTTP clients: `QueueClient` (httpx.Client) and `AsyncQueueClient` (httpx.AsyncClient).

Both take the service's base URL (`http://queue-service:3020`) and a bearer
token (a JWT the service's `JWT_SECRET` or key signed), and speak the API
under `/api/v1/queue`. Every refusal raises a `QueueServiceError` subclass;
every answer is a frozen pydantic model.
"""

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Self, TypeVar, Unpack, overload

import httpx
from pydantic import JsonValue

from queue_service_client import operations
from queue_service_client.errors import TransportError
from queue_service_client.operations import Call
from queue_service_client.payloads import Payload
from queue_service_client.schemas import (
    Batch,
    BatchCreated,
    EnqueueArgs,
    EnqueuedJob,
    EnqueuedJobs,
    Job,
    JobAction,
    JobExplanation,
    JobPage,
    JobSpec,
    JobState,
    Outcome,
    as_spec,
    job_options,
    resolve,
)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0

Token = str | Callable[[], str]


class _Endpoint:
    """What both clients share: where the service is, and how to authenticate."""

    def __init__(
        self,
        base_url: str,
        token: Token,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        parsed = httpx.URL(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._headers = dict(headers or {})

    def _request(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[T]
    ) -> httpx.Request:
        token = self._token() if callable(self._token) else self._token
        return http.build_request(
            call.method,
            self.base_url + call.path,
            json=call.json,
            params=call.params,
            headers={
                **self._headers,
                **call.headers,
                "Authorization": f"Bearer {token}",
                "Accept": "application/json, application/problem+json",
            },
        )


def _spec(
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None,
    args: EnqueueArgs,
) -> JobSpec:
    job_type, payload, queue = resolve(job_type_or_payload, data, args.get("queue"))
    return JobSpec(
        job_type=job_type, data=payload, queue=queue, options=job_options(args)
    )


def _batch_queue(queue: str | None, specs: Sequence[JobSpec]) -> str:
    if queue is not None:
        return queue
    queues = {spec.queue for spec in specs}
    only = queues.pop() if len(queues) == 1 else None
    if only is None:
        raise ValueError(
            "POST /jobs/batch takes jobs of one queue: give queue=, "
            f"or jobs of one known queue (got {sorted(str(q) for q in queues)})"
        )
    return only


class QueueClient(_Endpoint):
    """A synchronous client of the queue service's HTTP API.

    Example:
        with QueueClient("http://queue-service:3020", token) as queue:
            job = queue.enqueue(SendEmail(to="a@example.com", template="welcome"))
    """

    def __init__(
        self,
        base_url: str,
        token: Token,
        *,
        http_client: httpx.Client | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Connect to the service at `base_url` with a bearer token.

        Args:
            base_url: The service's root, such as `http://queue-service:3020`.
            token: The JWT, or a function returning the current one (called per request).
            http_client: An httpx client to send through (its transport, proxies,
                event hooks); the caller closes it. Else the client makes its own.
            timeout_s: The timeout of the client's own httpx client.
            headers: Headers to send with every request.
        """
        super().__init__(base_url, token, headers=headers)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Close the httpx client, if this client made it."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, call: Call[T]) -> T:
        request = self._request(self._http, call)
        try:
            response = self._http.send(request)
        except httpx.TransportError as exc:
            raise TransportError(
                f"{call.method} {request.url} failed: {exc!r}"
            ) from exc
        return call.result(response)

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
        """Add one job (POST /jobs): a payload model, or a job type and its data.

        Args:
            job_type_or_payload: A payload model, whose class names the job type
                and queue; or the name of a job type, known or not.
            data: The job's data, with a job type's name only.
            **args: `queue` (required for a job type this client does not know),
                the job's options and `idempotency_key`, `request_id` (`EnqueueArgs`).

        Returns:
            The job; `duplicate` when its idempotency key already named it.

        Raises:
            QueueServiceError: the subclass of the service's refusal
                (`InvalidJobData`, `IdempotencyKeyReused`, `Forbidden`, ...).
        """
        spec = _spec(job_type_or_payload, data, args)
        return self._run(
            operations.add_job(
                spec,
                idempotency_key=args.get("idempotency_key"),
                request_id=args.get("request_id"),
            )
        )

    def enqueue_many(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        queue: str | None = None,
        stop_on_error: bool = False,
        validate_all: bool = False,
        request_id: str | None = None,
    ) -> EnqueuedJobs:
        """Add up to 100 jobs of one queue (POST /jobs/batch).

        Without `stop_on_error` each job stands alone: the answer lists those
        enqueued and those refused. With it, all or nothing: one invalid job
        refuses them all (`BatchRejected`, reporting the first invalid job, or
        every one with `validate_all`).

        Args:
            jobs: Payload models, or `job(...)` for options or unknown types.
            queue: The jobs' queue; by default the one queue of their job types.
            stop_on_error: All or nothing, in one transaction.
            validate_all: With stop_on_error, report every invalid job.
            request_id: Sent as `X-Request-ID`.
        """
        specs = [as_spec(item) for item in jobs]
        return self._run(
            operations.add_jobs(
                _batch_queue(queue, specs),
                specs,
                stop_on_error=stop_on_error,
                validate_all=validate_all,
                request_id=request_id,
            )
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
        """Add a batch (POST /batches): up to 1,000 jobs, all or nothing, with callbacks.

        Args:
            jobs: The batch's jobs; `job(..., depends_on=[Dependency(index=0)])`
                makes one wait for an earlier one.
            on_complete: A job run once every job of the batch has ended.
            on_failure: A job run at the first job that fails for good.
            idempotency_key: Sent again under it, the batch is not made twice.
            request_id: Sent as `X-Request-ID`.
        """
        return self._run(
            operations.create_batch(
                [as_spec(item) for item in jobs],
                on_complete=as_spec(on_complete) if on_complete is not None else None,
                on_failure=as_spec(on_failure) if on_failure is not None else None,
                idempotency_key=idempotency_key,
                request_id=request_id,
            )
        )

    def get_batch(self, batch_id: int) -> Batch:
        """Return a batch's progress (GET /batches/:id)."""
        return self._run(operations.get_batch(batch_id))

    def get_job(self, job_id: int, *, queue: str | None = None) -> Job:
        """Return a job the caller may see (GET /jobs/:id); `queue` refuses another queue's."""
        return self._run(operations.get_job(job_id, queue=queue))

    def get_job_outcomes(self, job_id: int) -> tuple[Outcome, ...]:
        """Return every attempt of a job, oldest first (GET /jobs/:id/outcomes)."""
        return self._run(operations.get_job_outcomes(job_id))

    def explain_job(self, job_id: int) -> JobExplanation:
        """Say why a job is not running (GET /jobs/:id/explain)."""
        return self._run(operations.explain_job(job_id))

    def list_jobs(
        self,
        queue: str,
        *,
        status: JobState = "waiting",
        start: int = 0,
        end: int = 19,
    ) -> JobPage:
        """Return a queue's jobs in one state, positions start to end (GET /queues/:name/jobs).

        The service answers at most 100 jobs a page; admin and monitoring
        tokens only (monitoring sees no payloads).
        """
        return self._run(
            operations.list_jobs(queue, status=status, start=start, end=end)
        )

    def retry_job(self, job_id: int, *, queue: str | None = None) -> JobAction:
        """Requeue a failed job with a fresh set of attempts (POST /jobs/:id/retry)."""
        return self._run(operations.retry_job(job_id, queue=queue))

    def cancel_job(self, job_id: int, *, queue: str | None = None) -> JobAction:
        """Cancel a waiting job, or ask a running one to abort (DELETE /jobs/:id)."""
        return self._run(operations.cancel_job(job_id, queue=queue))


class AsyncQueueClient(_Endpoint):
    """An asynchronous client of the queue service's HTTP API.

    Example:
        async with AsyncQueueClient("http://queue-service:3020", token) as queue:
            job = await queue.enqueue(SendEmail(to="a@example.com", template="welcome"))
    """

    def __init__(
        self,
        base_url: str,
        token: Token,
        *,
        http_client: httpx.AsyncClient | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Connect to the service at `base_url` with a bearer token.

        Args:
            base_url: The service's root, such as `http://queue-service:3020`.
            token: The JWT, or a function returning the current one (called per request).
            http_client: An httpx async client to send through; the caller closes it.
                Else the client makes its own.
            timeout_s: The timeout of the client's own httpx client.
            headers: Headers to send with every request.
        """
        super().__init__(base_url, token, headers=headers)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout_s)

    async def aclose(self) -> None:
        """Close the httpx client, if this client made it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, call: Call[T]) -> T:
        request = self._request(self._http, call)
        try:
            response = await self._http.send(request)
        except httpx.TransportError as exc:
            raise TransportError(
                f"{call.method} {request.url} failed: {exc!r}"
            ) from exc
        return call.result(response)

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
        """Add one job (POST /jobs); see `QueueClient.enqueue`."""
        spec = _spec(job_type_or_payload, data, args)
        return await self._run(
            operations.add_job(
                spec,
                idempotency_key=args.get("idempotency_key"),
                request_id=args.get("request_id"),
            )
        )

    async def enqueue_many(
        self,
        jobs: Sequence[JobSpec | Payload],
        *,
        queue: str | None = None,
        stop_on_error: bool = False,
        validate_all: bool = False,
        request_id: str | None = None,
    ) -> EnqueuedJobs:
        """Add up to 100 jobs of one queue (POST /jobs/batch); see `QueueClient.enqueue_many`."""
        specs = [as_spec(item) for item in jobs]
        return await self._run(
            operations.add_jobs(
                _batch_queue(queue, specs),
                specs,
                stop_on_error=stop_on_error,
                validate_all=validate_all,
                request_id=request_id,
            )
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
        """Add a batch (POST /batches); see `QueueClient.create_batch`."""
        return await self._run(
            operations.create_batch(
                [as_spec(item) for item in jobs],
                on_complete=as_spec(on_complete) if on_complete is not None else None,
                on_failure=as_spec(on_failure) if on_failure is not None else None,
                idempotency_key=idempotency_key,
                request_id=request_id,
            )
        )

    async def get_batch(self, batch_id: int) -> Batch:
        """Return a batch's progress (GET /batches/:id)."""
        return await self._run(operations.get_batch(batch_id))

    async def get_job(self, job_id: int, *, queue: str | None = None) -> Job:
        """Return a job the caller may see (GET /jobs/:id)."""
        return await self._run(operations.get_job(job_id, queue=queue))

    async def get_job_outcomes(self, job_id: int) -> tuple[Outcome, ...]:
        """Return every attempt of a job, oldest first (GET /jobs/:id/outcomes)."""
        return await self._run(operations.get_job_outcomes(job_id))

    async def explain_job(self, job_id: int) -> JobExplanation:
        """Say why a job is not running (GET /jobs/:id/explain)."""
        return await self._run(operations.explain_job(job_id))

    async def list_jobs(
        self,
        queue: str,
        *,
        status: JobState = "waiting",
        start: int = 0,
        end: int = 19,
    ) -> JobPage:
        """Return a queue's jobs in one state (GET /queues/:name/jobs); see `QueueClient.list_jobs`."""
        return await self._run(
            operations.list_jobs(queue, status=status, start=start, end=end)
        )

    async def retry_job(self, job_id: int, *, queue: str | None = None) -> JobAction:
        """Requeue a failed job with a fresh set of attempts (POST /jobs/:id/retry)."""
        return await self._run(operations.retry_job(job_id, queue=queue))

    async def cancel_job(self, job_id: int, *, queue: str | None = None) -> JobAction:
        """Cancel a waiting job, or ask a running one to abort (DELETE /jobs/:id)."""
        return await self._run(operations.cancel_job(job_id, queue=queue))
