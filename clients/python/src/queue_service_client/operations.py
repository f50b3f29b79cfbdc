"""The API's operations as requests, shared by the sync and the async client.

Each function returns a `Call`: the request to send and how to read its
answer. The clients only send it, so both speak the API the same way.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, JsonValue, TypeAdapter, ValidationError

from queue_service_client.errors import QueueServiceError, error_from_response
from queue_service_client.schemas import (
    Batch,
    BatchCreated,
    EnqueuedJob,
    EnqueuedJobs,
    Job,
    JobAction,
    JobExplanation,
    JobPage,
    JobSpec,
    JobState,
    Outcome,
)

API = "/api/v1/queue"

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class UnexpectedResponse(QueueServiceError):
    """The service answered with a body this client cannot read."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request to the API and the reader of its successful answer."""

    method: str
    path: str
    read: Callable[[object], T]
    json: JsonValue | None = None
    params: Mapping[str, str | int] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def result(self, response: httpx.Response) -> T:
        """Return the answer read, or raise the problem the service answered.

        Raises:
            QueueServiceError: the matching subclass for an error status.
            UnexpectedResponse: a successful answer that is not what the API sends.
        """
        if response.is_error:
            raise error_from_response(response)
        try:
            return self.read(response.json())
        except (ValueError, ValidationError) as exc:
            raise UnexpectedResponse(
                f"{self.method} {self.path} answered {response.status_code} "
                f"with a body this client cannot read: {exc}",
                status=response.status_code,
            ) from exc


def _model(model: type[M]) -> Callable[[object], M]:
    return model.model_validate


_OUTCOMES = TypeAdapter(tuple[Outcome, ...])


def _headers(
    *, idempotency_key: str | None = None, request_id: str | None = None
) -> dict[str, str]:
    headers: dict[str, str] = {}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    if request_id is not None:
        headers["X-Request-ID"] = request_id
    return headers


def _queue_param(queue: str | None) -> dict[str, str | int] | None:
    return {"queue": queue} if queue is not None else None


def _id(value: int) -> str:
    # bool is an int too; a job id is not.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"an id is an int, not {type(value).__name__}")
    return str(value)


def add_job(
    spec: JobSpec, *, idempotency_key: str | None, request_id: str | None
) -> Call[EnqueuedJob]:
    """POST /jobs: add one job."""
    return Call(
        "POST",
        f"{API}/jobs",
        _model(EnqueuedJob),
        json=spec.member(),
        headers=_headers(idempotency_key=idempotency_key, request_id=request_id),
    )


def add_jobs(
    queue: str,
    specs: Sequence[JobSpec],
    *,
    stop_on_error: bool,
    validate_all: bool,
    request_id: str | None,
) -> Call[EnqueuedJobs]:
    """POST /jobs/batch: add up to 100 jobs of one queue."""
    body: dict[str, JsonValue] = {
        "queue": queue,
        "jobs": [spec.batch_item() for spec in specs],
    }
    if stop_on_error or validate_all:
        body["options"] = {"stopOnError": stop_on_error, "validateAll": validate_all}
    return Call(
        "POST",
        f"{API}/jobs/batch",
        _model(EnqueuedJobs),
        json=body,
        headers=_headers(request_id=request_id),
    )


def create_batch(
    specs: Sequence[JobSpec],
    *,
    on_complete: JobSpec | None,
    on_failure: JobSpec | None,
    idempotency_key: str | None,
    request_id: str | None,
) -> Call[BatchCreated]:
    """POST /batches: add a batch, all or nothing, with its callbacks."""
    body: dict[str, JsonValue] = {"jobs": [spec.member() for spec in specs]}
    if on_complete is not None:
        body["onComplete"] = on_complete.member()
    if on_failure is not None:
        body["onFailure"] = on_failure.member()
    return Call(
        "POST",
        f"{API}/batches",
        _model(BatchCreated),
        json=body,
        headers=_headers(idempotency_key=idempotency_key, request_id=request_id),
    )


def get_batch(batch_id: int) -> Call[Batch]:
    """GET /batches/:id."""
    return Call("GET", f"{API}/batches/{_id(batch_id)}", _model(Batch))


def get_job(job_id: int, *, queue: str | None) -> Call[Job]:
    """GET /jobs/:id."""
    return Call(
        "GET", f"{API}/jobs/{_id(job_id)}", _model(Job), params=_queue_param(queue)
    )


def get_job_outcomes(job_id: int) -> Call[tuple[Outcome, ...]]:
    """GET /jobs/:id/outcomes."""
    return Call("GET", f"{API}/jobs/{_id(job_id)}/outcomes", _OUTCOMES.validate_python)


def explain_job(job_id: int) -> Call[JobExplanation]:
    """GET /jobs/:id/explain."""
    return Call("GET", f"{API}/jobs/{_id(job_id)}/explain", _model(JobExplanation))


def list_jobs(queue: str, *, status: JobState, start: int, end: int) -> Call[JobPage]:
    """GET /queues/:name/jobs."""
    return Call(
        "GET",
        f"{API}/queues/{quote(queue, safe='')}/jobs",
        _model(JobPage),
        params={"status": status, "start": start, "end": end},
    )


def retry_job(job_id: int, *, queue: str | None) -> Call[JobAction]:
    """POST /jobs/:id/retry."""
    return Call(
        "POST",
        f"{API}/jobs/{_id(job_id)}/retry",
        _model(JobAction),
        json={"queue": queue} if queue is not None else None,
    )


def cancel_job(job_id: int, *, queue: str | None) -> Call[JobAction]:
    """DELETE /jobs/:id."""
    return Call(
        "DELETE",
        f"{API}/jobs/{_id(job_id)}",
        _model(JobAction),
        params=_queue_param(queue),
    )
