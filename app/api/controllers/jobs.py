"""/api/v1/queue/jobs: add, batch, get, outcomes, explain, retry, cancel."""

from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.api.auth import allow
from app.api.context import AppSettings, AuthRequest, Conn, Enqueuer, audit_context
from app.api.documented import OptionalBodyOperation, problems
from app.api.request_ids import request_id_of
from app.api.schemas.base import QUEUE_PATTERN
from app.api.schemas.jobs import (
    BatchCreate,
    BatchCreated,
    BatchJobError,
    BatchJobResult,
    Job,
    JobAction,
    JobCreate,
    JobCreated,
    JobExplanation,
    JobOptionsIn,
    JobQueueIn,
    JobReason,
    JobState,
    Outcome,
)
from app.domain.access import ENQUEUERS, JOB_MANAGERS
from app.domain.policy import canonical_queue_name
from app.services import jobs as job_service
from app.services.caller_enqueue import (
    BatchItem,
    JobOptions,
    enqueue_batch,
    enqueue_request,
)
from app.services.enqueue import Dependency

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        # Visible ASCII: a key goes into logs, SQL and the next request.
        pattern=r"^[!-~]+$",
        description="Same key and body: the original job (200). Same key, other body: 409.",
    ),
]


# The old service's `?queue=`: where it looked the job up. Ids are unique
# across queues; a job of another queue is not found, as before.
InQueue = Annotated[
    str | None,
    QueryParameter(
        required=False,
        min_length=1,
        max_length=64,
        pattern=QUEUE_PATTERN,
        description="The job's queue (or its old alias); another queue's job is not found.",
    ),
]


def job_options(options: JobOptionsIn | None) -> JobOptions:
    """Return a body's per-job options as the enqueue services take them."""
    given = options or JobOptionsIn()
    return JobOptions(
        priority=given.priority,
        delay_ms=given.delay,
        attempts=given.attempts,
        ordering_key=given.ordering_key,
        concurrency_key=given.concurrency_key,
        depends_on=tuple(
            Dependency(job_id=d.job_id, index=d.index, on_failure=d.on_failure)
            for d in given.depends_on or ()
        ),
        unique_while=given.unique_while,
        on_duplicate=given.on_duplicate,
    )


def _state(job: job_service.JobRow) -> JobState:
    if job.held:
        return "waiting-children"
    if job.state == "todo":
        future = (
            job.scheduled_at is not None
            and job.enqueued_at is not None
            and job.scheduled_at > job.enqueued_at
        )
        return "delayed" if future and job.started_at is None else "waiting"
    return {
        "doing": "active",
        "succeeded": "completed",
        "failed": "failed",
        "cancelled": "cancelled",
        "aborted": "aborted",
    }.get(job.state, "failed")  # type: ignore[return-value]


def _progress(job: job_service.JobRow, state: str) -> int:
    # A finished job is done whatever its task last said (the old service's 100).
    if state in ("completed", "failed", "cancelled", "aborted"):
        return 100
    return int(job.progress_percent) if job.progress_percent is not None else 0


def job_body(job: job_service.JobRow, *, with_payload: bool = True) -> Job:
    """Return a job in the old service's shape.

    Without `with_payload` (callers that watch queues, not jobs: the
    monitoring role), `data` and the idempotency key, which is rendered from
    the data, are null.
    """
    state = _state(job)
    return Job(
        id=job.id,
        queue=job.queue,
        job_type=job.job_type,
        data=job.data if with_payload else None,
        state=state,
        progress=_progress(job, state),
        progress_message=job.progress_message,
        progress_at=job.progress_at,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        priority=job.priority,
        created_at=job.enqueued_at,
        scheduled_for=job.scheduled_at,
        processed_at=job.started_at,
        finished_at=job.finished_at,
        failed_reason=job.last_error if state == "failed" else None,
        idempotency_key=job.idempotency_key if with_payload else None,
        request_id=job.request_id,
        waiting_for=job.waiting_for,
        concurrency_key=job.concurrency_key if with_payload else None,
    )


class JobController(Controller):
    """Jobs: one service call per request."""

    path = "/api/v1/queue/jobs"
    tags = ["jobs"]  # noqa: RUF012 - Litestar's class-level configuration

    @post(
        "/",
        operation_id="addJob",
        responses=problems(404, 409),
        guards=[allow(*ENQUEUERS)],
        status_code=HTTP_201_CREATED,
    )
    async def add_job(
        self,
        request: AuthRequest,
        enqueuer: Enqueuer,
        data: JSONBody[JobCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[JobCreated]:
        """Add a job; 201 when created, 200 when its idempotency key already named it."""
        options = job_options(data.options)
        result = await enqueue_request(
            enqueuer,
            principal=request.user,
            queue=data.queue,
            job_type=data.job_type,
            data=data.data,
            options=options,
            idempotency_key=idempotency_key,
            request_id=request_id_of(request.scope),
        )
        body = JobCreated(
            job_id=result.job_id,
            queue=canonical_queue_name(data.queue),
            job_type=data.job_type,
            status="duplicate" if result.duplicate else "queued",
            options=data.options or JobOptionsIn(),
        )
        return Response(
            body, status_code=HTTP_200_OK if result.duplicate else HTTP_201_CREATED
        )

    @post(
        "/batch",
        operation_id="addJobs",
        responses=problems(404, 409),
        guards=[allow(*ENQUEUERS)],
        status_code=HTTP_201_CREATED,
    )
    async def add_jobs(
        self,
        request: AuthRequest,
        conn: Conn,
        data: JSONBody[BatchCreate],
    ) -> BatchCreated:
        """Add up to 100 jobs; with stopOnError, all or nothing."""
        batch_options = data.options
        result = await enqueue_batch(
            conn,
            principal=request.user,
            queue=data.queue,
            items=[
                BatchItem(job.job_type, job.data, job_options(job.options))
                for job in data.jobs
            ],
            stop_on_error=bool(batch_options and batch_options.stop_on_error),
            validate_all=bool(batch_options and batch_options.validate_all),
            request_id=request_id_of(request.scope),
        )
        return BatchCreated(
            queue=canonical_queue_name(data.queue),
            total=len(data.jobs),
            successful=len(result.entries),
            failed=len(result.errors),
            jobs=[
                BatchJobResult(
                    index=e.index,
                    job_id=e.job_id,
                    job_type=e.job_type,
                    status="duplicate" if e.duplicate else "queued",
                )
                for e in result.entries
            ],
            errors=[
                BatchJobError(
                    index=e.index,
                    job_type=e.job_type,
                    error=e.error,
                    errors=e.errors,
                )
                for e in result.errors
            ],
        )

    @get(
        "/{job_id:int}",
        operation_id="getJob",
        responses=problems(404),
        guards=[allow(*ENQUEUERS)],
    )
    async def get_job(
        self,
        request: AuthRequest,
        conn: Conn,
        job_id: FromPath[int],
        queue: InQueue = None,
    ) -> Job:
        """Return a job the caller may see."""
        return job_body(
            await job_service.get_job(conn, request.user, job_id, queue=queue)
        )

    @get(
        "/{job_id:int}/outcomes",
        operation_id="getJobOutcomes",
        responses=problems(404),
        guards=[allow(*ENQUEUERS)],
    )
    async def get_outcomes(
        self, request: AuthRequest, conn: Conn, job_id: FromPath[int]
    ) -> list[Outcome]:
        """Return every attempt of a job, oldest first."""
        outcomes = await job_service.list_outcomes(conn, request.user, job_id)
        return [
            Outcome(
                attempt=o.attempt,
                status=o.status,
                error_type=o.error_type,
                error=o.error_message,
                result=o.result,
                started_at=o.started_at,
                finished_at=o.finished_at,
                duration_ms=round(
                    (o.finished_at - o.started_at).total_seconds() * 1000, 3
                ),
            )
            for o in outcomes
        ]

    @get(
        "/{job_id:int}/explain",
        operation_id="explainJob",
        responses=problems(404),
        guards=[allow(*ENQUEUERS)],
    )
    async def explain_job(
        self,
        request: AuthRequest,
        conn: Conn,
        settings: AppSettings,
        job_id: FromPath[int],
    ) -> JobExplanation:
        """Say why a job is not running: scheduled, paused, lock, limit, breaker, no worker, ..."""
        explained = await job_service.explain_job(
            conn,
            request.user,
            job_id,
            stalled_after_s=settings.worker.stalled_after_s,
        )
        return JobExplanation(
            job_id=job_id,
            state=_state(explained.job),
            reasons=[
                JobReason(
                    reason=r.reason,
                    detail=r.detail,
                    until=r.until,
                    blocking_job_id=r.blocking_job_id,
                )
                for r in explained.reasons
            ],
        )

    @post(
        "/{job_id:int}/retry",
        operation_id="retryJob",
        operation_class=OptionalBodyOperation,
        responses=problems(404, 409),
        guards=[allow(*JOB_MANAGERS)],
        status_code=HTTP_200_OK,
    )
    async def retry_job(
        self,
        request: AuthRequest,
        conn: Conn,
        job_id: FromPath[int],
        data: JSONBody[JobQueueIn | None] = None,
    ) -> JobAction:
        """Requeue a failed job with a fresh set of attempts."""
        await job_service.retry_as(
            conn,
            request.user,
            job_id,
            audit=audit_context(request),
            queue=data.queue if data else None,
        )
        return JobAction(
            job_id=job_id, status="queued", message="Job has been queued for retry"
        )

    @delete(
        "/{job_id:int}",
        operation_id="cancelJob",
        responses=problems(404, 409),
        guards=[allow(*JOB_MANAGERS)],
        status_code=HTTP_200_OK,
    )
    async def cancel_job(
        self,
        request: AuthRequest,
        conn: Conn,
        job_id: FromPath[int],
        queue: InQueue = None,
    ) -> JobAction:
        """Cancel a waiting job, or abort a running one."""
        state = await job_service.cancel_as(
            conn, request.user, job_id, audit=audit_context(request), queue=queue
        )
        if state == "cancelled":
            return JobAction(
                job_id=job_id, status="cancelled", message="Job has been cancelled"
            )
        return JobAction(
            job_id=job_id,
            status="aborting",
            message="Job is running: its worker has been asked to abort it",
        )
