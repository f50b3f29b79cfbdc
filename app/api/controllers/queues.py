"""/api/v1/queue/queues: overview, status, pause, resume, clear, jobs, policy."""

from typing import Annotated, Literal

from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from app.api.auth import allow
from app.api.context import AuthRequest, Conn, audit_context
from app.api.controllers.jobs import job_body
from app.api.documented import problems
from app.api.schemas.jobs import JobState
from app.api.schemas.queues import (
    JobSample,
    QueueAction,
    QueueCleared,
    QueueConfig,
    QueueConfigPatch,
    QueueCounts,
    QueueJobsPage,
    QueueSamples,
    QueueStatusBody,
    QueueSummary,
)
from app.domain.access import OBSERVERS, Role, sees_payloads
from app.domain.policy import canonical_queue_name
from app.services import queues as queue_service

ClearType = Literal["completed", "failed", "delayed", "wait"]


def counts_body(row: queue_service.OverviewRow) -> QueueCounts:
    """Return a queue's counts in the API's shape."""
    return QueueCounts(
        waiting=row.waiting,
        delayed=row.scheduled,
        active=row.running,
        completed_last_hour=row.succeeded_last_hour,
        failed_last_hour=row.failed_last_hour,
    )


def summary_body(row: queue_service.OverviewRow) -> QueueSummary:
    """Return a queue's policy headline and counts in the API's shape."""
    return QueueSummary(
        name=row.queue,
        tier=row.tier,
        paused=row.paused,
        concurrency=row.concurrency,
        max_attempts=row.max_attempts,
        counts=counts_body(row),
        oldest_waiting_age_s=row.oldest_waiting_age_s,
    )


def sample_body(job: queue_service.JobRow, *, with_payload: bool) -> JobSample:
    """Return a job of a queue's samples, with the old names of its times too."""
    return JobSample(**dict(job_body(job, with_payload=with_payload)))


class QueueController(Controller):
    """Queues: one service call per request."""

    path = "/api/v1/queue/queues"
    tags = ["queues"]  # noqa: RUF012 - Litestar's class-level configuration

    @get(
        "/", operation_id="listQueues", responses=problems(), guards=[allow(*OBSERVERS)]
    )
    async def list_queues(self, conn: Conn) -> list[QueueSummary]:
        """Every queue with its counts."""
        return [summary_body(row) for row in await queue_service.overview(conn)]

    @get(
        "/{name:str}/status",
        operation_id="getQueueStatus",
        responses=problems(404),
        guards=[allow(*OBSERVERS)],
    )
    async def get_status(
        self, request: AuthRequest, conn: Conn, name: FromPath[str]
    ) -> QueueStatusBody:
        """A queue's counts and up to ten waiting, active and failed jobs (payloads: admin only)."""
        found = await queue_service.status(conn, name)
        payload = sees_payloads(request.user)
        return QueueStatusBody(
            name=found.overview.queue,
            paused=found.overview.paused,
            metrics=counts_body(found.overview),
            oldest_waiting_age_s=found.overview.oldest_waiting_age_s,
            samples=QueueSamples(
                waiting=[sample_body(j, with_payload=payload) for j in found.waiting],
                active=[sample_body(j, with_payload=payload) for j in found.active],
                failed=[sample_body(j, with_payload=payload) for j in found.failed],
            ),
        )

    @post(
        "/{name:str}/pause",
        operation_id="pauseQueue",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def pause(
        self, request: AuthRequest, conn: Conn, name: FromPath[str]
    ) -> QueueAction:
        """Stop claiming jobs of this queue in every worker; running jobs finish."""
        await queue_service.set_paused(
            conn, name, paused=True, audit=audit_context(request)
        )
        return QueueAction(queue=canonical_queue_name(name), paused=True)

    @post(
        "/{name:str}/resume",
        operation_id="resumeQueue",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def resume(
        self, request: AuthRequest, conn: Conn, name: FromPath[str]
    ) -> QueueAction:
        """Claim jobs of this queue again; idle workers are woken at once."""
        await queue_service.set_paused(
            conn, name, paused=False, audit=audit_context(request)
        )
        return QueueAction(queue=canonical_queue_name(name), paused=False)

    @post(
        "/{name:str}/clear",
        operation_id="clearQueue",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def clear(
        self,
        request: AuthRequest,
        conn: Conn,
        name: FromPath[str],
        type: Annotated[
            ClearType, QueryParameter(description="completed, failed, delayed or wait")
        ],
    ) -> QueueCleared:
        """Remove the queue's jobs in one state; running jobs are never touched."""
        removed = await queue_service.clear(
            conn, name, type, audit=audit_context(request)
        )
        return QueueCleared(
            queue=canonical_queue_name(name), type=type, removed=removed
        )

    @get(
        "/{name:str}/jobs",
        operation_id="listQueueJobs",
        responses=problems(404),
        guards=[allow(*OBSERVERS)],
    )
    async def list_jobs(
        self,
        request: AuthRequest,
        conn: Conn,
        name: FromPath[str],
        status: Annotated[JobState, QueryParameter()] = "waiting",
        start: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
        end: Annotated[int, QueryParameter(ge=0, le=1_000_100)] = 19,
    ) -> QueueJobsPage:
        """The queue's jobs in one state, positions start to end (at most 100; payloads: admin only)."""
        end = min(max(end, start), start + 99)
        found = await queue_service.jobs(conn, name, status, start=start, end=end)
        return QueueJobsPage(
            queue=canonical_queue_name(name),
            status=status,
            start=start,
            end=end,
            jobs=[job_body(j, with_payload=sees_payloads(request.user)) for j in found],
        )

    @get(
        "/{name:str}/config",
        operation_id="getQueueConfig",
        responses=problems(404),
        guards=[allow(*OBSERVERS)],
    )
    async def get_config(self, conn: Conn, name: FromPath[str]) -> QueueConfig:
        """The queue's policy."""
        return QueueConfig.from_row(await queue_service.config(conn, name))

    @patch(
        "/{name:str}/config",
        operation_id="updateQueueConfig",
        responses=problems(404),
        guards=[allow(Role.ADMIN)],
    )
    async def update_config(
        self,
        request: AuthRequest,
        conn: Conn,
        name: FromPath[str],
        data: JSONBody[QueueConfigPatch],
    ) -> QueueConfig:
        """Change the queue's policy; workers apply it within seconds (concurrency at restart)."""
        given = data.model_dump(exclude_unset=True, exclude={"clear_backoff_cap"})
        changes = {key: value for key, value in given.items() if value is not None}
        updated = await queue_service.update_config(
            conn,
            name,
            changes,
            clear_backoff_cap=data.clear_backoff_cap,
            audit=audit_context(request),
        )
        return QueueConfig.from_row(updated)
