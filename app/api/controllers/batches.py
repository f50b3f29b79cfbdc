"""/api/v1/queue/batches: jobs counted as one group, with callbacks, and their progress."""

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.api.auth import allow
from app.api.context import AuthRequest, Conn
from app.api.controllers.jobs import IdempotencyKey, job_options
from app.api.documented import problems
from app.api.request_ids import request_id_of
from app.api.schemas.batches import (
    BatchCreatedOut,
    BatchIn,
    BatchMemberIn,
    BatchMemberOut,
    BatchOut,
)
from app.domain.access import ENQUEUERS
from app.services import batches as batch_service
from app.services.caller_enqueue import BatchItem


def _member(member: BatchMemberIn) -> tuple[str, BatchItem]:
    return member.queue, BatchItem(
        member.job_type, member.data, job_options(member.options)
    )


class BatchController(Controller):
    """Batches: one service call per request."""

    path = "/api/v1/queue/batches"
    tags = ["batches"]  # noqa: RUF012 - Litestar's class-level configuration

    @post(
        "/",
        operation_id="createBatch",
        responses=problems(404, 409),
        guards=[allow(*ENQUEUERS)],
        status_code=HTTP_201_CREATED,
    )
    async def create_batch(
        self,
        request: AuthRequest,
        conn: Conn,
        data: JSONBody[BatchIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[BatchCreatedOut]:
        """Add a batch, all or nothing; 201, or 200 when its Idempotency-Key already made it."""
        batch = await batch_service.create_batch(
            conn,
            principal=request.user,
            jobs=[_member(job) for job in data.jobs],
            on_complete=_member(data.on_complete) if data.on_complete else None,
            on_failure=_member(data.on_failure) if data.on_failure else None,
            request_id=request_id_of(request.scope),
            idempotency_key=idempotency_key,
        )
        body = BatchCreatedOut(
            batch_id=batch.batch_id,
            jobs=[
                BatchMemberOut(
                    index=index,
                    job_id=job.job_id,
                    status="duplicate" if job.duplicate else "queued",
                )
                for index, job in enumerate(batch.jobs)
            ],
        )
        return Response(
            body, status_code=HTTP_200_OK if batch.replayed else HTTP_201_CREATED
        )

    @get(
        "/{batch_id:int}",
        operation_id="getBatch",
        responses=problems(404),
        guards=[allow(*ENQUEUERS)],
    )
    async def get_batch(
        self, request: AuthRequest, conn: Conn, batch_id: FromPath[int]
    ) -> BatchOut:
        """Return a batch's progress: its jobs ended by outcome, and its callbacks."""
        batch = await batch_service.get_batch(conn, request.user, batch_id)
        return BatchOut(
            id=batch.id,
            state=batch.state,
            total=batch.total,
            succeeded=batch.succeeded,
            failed=batch.failed,
            cancelled=batch.cancelled,
            pending=batch.pending,
            percent=batch.percent,
            on_complete_job_id=batch.complete_job_id,
            on_failure_job_id=batch.failure_job_id,
            created_at=batch.created_at,
            finished_at=batch.finished_at,
        )
