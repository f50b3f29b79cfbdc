"""Bodies of /batches: create a batch with its callbacks, read its progress."""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.api.schemas.base import JOB_TYPE_PATTERN, QUEUE_PATTERN, Schema
from app.api.schemas.jobs import JobOptionsIn


class BatchMemberIn(Schema):
    """One job of a batch, or one of its callbacks."""

    queue: str = Field(min_length=1, max_length=64, pattern=QUEUE_PATTERN)
    job_type: str = Field(
        alias="type", min_length=1, max_length=128, pattern=JOB_TYPE_PATTERN
    )
    data: dict[str, Any]
    options: JobOptionsIn | None = None


class BatchIn(Schema):
    """POST /batches: jobs counted as one group, all or nothing."""

    jobs: list[BatchMemberIn] = Field(
        min_length=1,
        max_length=1000,
        description="The batch's jobs; options.dependsOn may name earlier ones by index.",
    )
    on_complete: BatchMemberIn | None = Field(
        default=None, description="A job run once every job of the batch has ended."
    )
    on_failure: BatchMemberIn | None = Field(
        default=None,
        description="A job run at the first job that fails for good; cancelled if none does.",
    )


class BatchMemberOut(Schema):
    """A job of the batch as it was enqueued."""

    index: int
    job_id: int
    status: Literal["queued", "duplicate"]


class BatchCreatedOut(Schema):
    """The batch POST /batches created."""

    batch_id: int
    jobs: list[BatchMemberOut]


class BatchOut(Schema):
    """GET /batches/:id: how many of a batch's jobs have ended, and how."""

    id: int
    state: Literal["running", "succeeded", "finished_with_failures"]
    total: int
    succeeded: int
    failed: int
    cancelled: int = Field(description="Cancelled or aborted.")
    pending: int = Field(description="Jobs that have not ended yet.")
    percent: int = Field(
        description="Ended jobs, in percent of the total, rounded down."
    )
    on_complete_job_id: int | None
    on_failure_job_id: int | None
    created_at: datetime
    finished_at: datetime | None
