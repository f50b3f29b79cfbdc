"""The HTTP API's bodies, as the client sends and reads them.

Attributes are snake_case; each field's alias is its camelCase key on the
wire (`job_id` is `jobId`, `job_type` is `type`). Responses are frozen and
ignore keys this version does not know, so a newer service that adds a field
does not break an older client.
"""

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal, TypedDict, Unpack, overload

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic.alias_generators import to_camel

from queue_service_client.payloads import QUEUE_OF, Payload

UniqueWhile = Literal["retained", "active", "waiting"]
OnDuplicate = Literal["keep", "replace"]
OnFailure = Literal["fail", "run"]
# A job's state over HTTP (the service's README, "Job states").
JobState = Literal[
    "waiting",
    "delayed",
    "waiting-children",
    "active",
    "completed",
    "failed",
    "cancelled",
    "aborted",
]


class WireModel(BaseModel):
    """Base of the API's bodies: camelCase on the wire, frozen, unknown keys ignored."""

    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=to_camel, populate_by_name=True
    )

    def to_wire(self) -> dict[str, JsonValue]:
        """Return the body as JSON, by camelCase keys, without unset options."""
        dumped: dict[str, JsonValue] = self.model_dump(
            mode="json", by_alias=True, exclude_none=True
        )
        return dumped


class Dependency(WireModel):
    """A job this one waits for: an existing job by id, or an earlier job of the same call by index.

    `on_failure`: "fail" (the default) fails this job when that one fails (and
    cancels it when that one is cancelled); "run" runs it anyway.
    """

    job_id: int | None = Field(default=None, ge=1)
    index: int | None = Field(default=None, ge=0)
    on_failure: OnFailure = "fail"

    @model_validator(mode="after")
    def _names_one_job(self) -> "Dependency":
        if (self.job_id is None) == (self.index is None):
            raise ValueError("a dependency names exactly one of job_id and index")
        return self

    def to_sql(self) -> dict[str, JsonValue]:
        """Return the element of `depends_on` that `queue.enqueue*` takes (snake_case)."""
        named: dict[str, JsonValue] = (
            {"job_id": self.job_id}
            if self.job_id is not None
            else {"index": self.index}
        )
        return {**named, "on_failure": self.on_failure}


def dependencies(depends_on: Sequence[int | Dependency]) -> tuple[Dependency, ...]:
    """Return dependencies given as job ids or `Dependency` as `Dependency` only."""
    return tuple(
        d if isinstance(d, Dependency) else Dependency(job_id=d) for d in depends_on
    )


class JobOptions(WireModel):
    """A job's options over HTTP (`options` of POST /jobs); unset ones are the type's defaults."""

    priority: int | None = Field(default=None, ge=1, le=10)
    delay_ms: int | None = Field(default=None, ge=0, alias="delay")
    attempts: int | None = Field(default=None, ge=1, le=10)
    ordering_key: str | None = Field(default=None, min_length=1, max_length=512)
    concurrency_key: str | None = Field(default=None, min_length=1, max_length=512)
    depends_on: tuple[Dependency, ...] | None = None
    unique_while: UniqueWhile | None = None
    on_duplicate: OnDuplicate | None = None


def delay_ms(
    delay: timedelta | None, run_at: datetime | None, *, now: datetime | None = None
) -> int | None:
    """Return the HTTP `delay` in milliseconds for a delay or a run time.

    The HTTP API takes a delay, not a run time: a `run_at` is turned into the
    delay from now on this machine's clock (a run time in the past is no
    delay). Naive datetimes are refused.

    Raises:
        ValueError: both given, a negative delay, or a naive `run_at`.
    """
    if delay is not None and run_at is not None:
        raise ValueError("give delay or run_at, not both")
    if delay is not None:
        if delay < timedelta(0):
            raise ValueError("delay must not be negative")
        return math.ceil(delay / timedelta(milliseconds=1))
    if run_at is not None:
        if run_at.tzinfo is None:
            raise ValueError("run_at must be timezone-aware")
        wait = run_at - (now or datetime.now(UTC))
        return max(0, math.ceil(wait / timedelta(milliseconds=1)))
    return None


class JobArgs(TypedDict, total=False):
    """The keyword arguments of one job: its queue and options.

    - `queue`: the job's queue; a known job type's by default.
    - `priority`: 1-10, higher runs first; the type's default if unset.
    - `delay`: how long from now before the job may run.
    - `run_at`: when the job may run (timezone-aware); sent as a delay from now.
    - `attempts`: attempts before the job fails for good (1-10).
    - `ordering_key`: jobs of one key run one at a time, in enqueue order.
    - `concurrency_key`: at most the queue's key_concurrency jobs of one key run at once.
    - `depends_on`: jobs this one waits for: ids, or `Dependency(index=...)` in a batch.
    - `unique_while`: how long the idempotency key stays unique.
    - `on_duplicate`: "replace" lets a duplicate replace a waiting job (debounce).
    """

    queue: str
    priority: int
    delay: timedelta
    run_at: datetime
    attempts: int
    ordering_key: str
    concurrency_key: str
    depends_on: Sequence[int | Dependency]
    unique_while: UniqueWhile
    on_duplicate: OnDuplicate


class EnqueueArgs(JobArgs, total=False):
    """The keyword arguments of `enqueue`: a job's, plus what goes in headers.

    - `idempotency_key`: the same key and body return the original job
      (`duplicate`); the same key with another body is `IdempotencyKeyReused`.
    - `request_id`: sent as `X-Request-ID`; stored in the job's meta and logged
      by the worker with every line about the job.
    """

    idempotency_key: str
    request_id: str


def job_options(args: JobArgs) -> JobOptions:
    """Return the HTTP options of a job from its keyword arguments."""
    depends_on = args.get("depends_on")
    return JobOptions(
        priority=args.get("priority"),
        delay_ms=delay_ms(args.get("delay"), args.get("run_at")),
        attempts=args.get("attempts"),
        ordering_key=args.get("ordering_key"),
        concurrency_key=args.get("concurrency_key"),
        depends_on=dependencies(depends_on) if depends_on else None,
        unique_while=args.get("unique_while"),
        on_duplicate=args.get("on_duplicate"),
    )


class JobSpec(WireModel):
    """One job of a batch: its type, data, queue and options. Build it with `job(...)`."""

    job_type: str = Field(alias="type", min_length=1)
    data: dict[str, JsonValue]
    queue: str | None = None
    options: JobOptions = JobOptions()

    def member(self) -> dict[str, JsonValue]:
        """Return the job as POST /batches takes it, with its queue.

        Raises:
            ValueError: the job has no queue (a job type this client does not know).
        """
        if self.queue is None:
            raise ValueError(
                f"job type {self.job_type!r} is not one this client knows: give its queue"
            )
        return {"queue": self.queue, **self.batch_item()}

    def batch_item(self) -> dict[str, JsonValue]:
        """Return the job as POST /jobs/batch takes it (the queue is the batch's)."""
        body: dict[str, JsonValue] = {"type": self.job_type, "data": self.data}
        options = self.options.to_wire()
        if options:
            body["options"] = options
        return body


def resolve(
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None,
    queue: str | None,
) -> tuple[str, dict[str, JsonValue], str | None]:
    """Return the job type, data and queue of a typed payload or of a type and its data.

    A known job type's queue is filled in when none is given.

    Raises:
        TypeError: a payload model with data too, or a job type without data.
    """
    if isinstance(job_type_or_payload, Payload):
        if data is not None:
            raise TypeError("a payload model carries its data: pass no data")
        return (
            job_type_or_payload.JOB_TYPE,
            job_type_or_payload.to_data(),
            queue or job_type_or_payload.QUEUE,
        )
    if data is None:
        raise TypeError(f"job type {job_type_or_payload!r} needs its data")
    return job_type_or_payload, dict(data), queue or QUEUE_OF.get(job_type_or_payload)


@overload
def job(payload: Payload, /, **args: Unpack[JobArgs]) -> JobSpec: ...


@overload
def job(
    job_type: str, data: Mapping[str, JsonValue], /, **args: Unpack[JobArgs]
) -> JobSpec: ...


def job(
    job_type_or_payload: str | Payload,
    data: Mapping[str, JsonValue] | None = None,
    /,
    **args: Unpack[JobArgs],
) -> JobSpec:
    """Return one job of a batch: a payload model, or a job type and its data.

    Args:
        job_type_or_payload: A payload model (`SendEmail(...)`), or a job type's name.
        data: The job's data, with a job type's name only.
        **args: The job's queue and options (`JobArgs`).
    """
    job_type, payload, queue = resolve(job_type_or_payload, data, args.get("queue"))
    return JobSpec(
        job_type=job_type, data=payload, queue=queue, options=job_options(args)
    )


def as_spec(item: JobSpec | Payload) -> JobSpec:
    """Return a batch item given as a payload model as a `JobSpec` with no options."""
    return item if isinstance(item, JobSpec) else job(item)


class EnqueuedJob(WireModel):
    """The job POST /jobs created, or found under its idempotency key (`duplicate`)."""

    job_id: int
    queue: str
    job_type: str = Field(alias="type")
    status: Literal["queued", "duplicate"]
    options: JobOptions = JobOptions()

    @property
    def duplicate(self) -> bool:
        """True when the idempotency key already named this job: nothing new was enqueued."""
        return self.status == "duplicate"


class BatchEntry(WireModel):
    """A job of POST /jobs/batch that was enqueued."""

    index: int
    job_id: int
    job_type: str = Field(alias="type")
    status: Literal["queued", "duplicate"]


class BatchEntryError(WireModel):
    """A job of POST /jobs/batch that was not, and why."""

    index: int
    job_type: str = Field(alias="type")
    error: str
    errors: tuple[Mapping[str, str], ...] = ()


class EnqueuedJobs(WireModel):
    """What POST /jobs/batch did: the jobs enqueued, and those refused."""

    queue: str
    total: int
    successful: int
    failed: int
    jobs: tuple[BatchEntry, ...]
    errors: tuple[BatchEntryError, ...]


class BatchMember(WireModel):
    """A job of a batch as POST /batches enqueued it."""

    index: int
    job_id: int
    status: Literal["queued", "duplicate"]


class BatchCreated(WireModel):
    """The batch POST /batches created (or found under its Idempotency-Key)."""

    batch_id: int
    jobs: tuple[BatchMember, ...]


class Batch(WireModel):
    """GET /batches/:id: how many of a batch's jobs have ended, and how."""

    id: int
    state: Literal["running", "succeeded", "finished_with_failures"]
    total: int
    succeeded: int
    failed: int
    cancelled: int
    pending: int
    percent: int
    on_complete_job_id: int | None = None
    on_failure_job_id: int | None = None
    created_at: datetime
    finished_at: datetime | None = None


class Job(WireModel):
    """GET /jobs/:id: a job and where it stands."""

    id: int
    queue: str
    job_type: str = Field(alias="type")
    data: JsonValue = None
    state: JobState
    progress: int
    progress_message: str | None = None
    progress_at: datetime | None = None
    attempts: int
    max_attempts: int | None = None
    priority: int
    created_at: datetime | None = None
    scheduled_for: datetime | None = None
    processed_at: datetime | None = None
    finished_at: datetime | None = None
    failed_reason: str | None = None
    idempotency_key: str | None = None
    request_id: str | None = None
    waiting_for: int | None = None
    concurrency_key: str | None = None


class JobPage(WireModel):
    """GET /queues/:name/jobs: a page of a queue's jobs in one state."""

    queue: str
    status: JobState
    start: int
    end: int
    jobs: tuple[Job, ...]


class JobAction(WireModel):
    """The result of retrying or cancelling a job."""

    job_id: int
    status: Literal["queued", "cancelled", "aborting"]
    message: str


class Outcome(WireModel):
    """One attempt of a job (GET /jobs/:id/outcomes)."""

    attempt: int
    status: str
    error_type: str | None = None
    error: str | None = None
    result: JsonValue = None
    started_at: datetime
    finished_at: datetime
    duration_ms: float


class JobReason(WireModel):
    """One reason a job is not running."""

    reason: str
    detail: str
    until: datetime | None = None
    blocking_job_id: int | None = None


class JobExplanation(WireModel):
    """GET /jobs/:id/explain: why a job is not running, most decisive reason first."""

    job_id: int
    state: JobState
    reasons: tuple[JobReason, ...]
