"""Bodies of /schedules: jobs enqueued on a UTC cron (`queue.schedules`)."""

from datetime import datetime
from typing import Any

from pydantic import Field

from app.api.schemas.base import JOB_TYPE_PATTERN, QUEUE_PATTERN, Schema

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
CRON_DESCRIPTION = (
    "UTC cron: five fields (minute hour day-of-month month day-of-week), "
    "or @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually."
)


class Schedule(Schema):
    """A schedule and its last and next run."""

    name: str
    cron: str
    queue: str
    job_type: str = Field(alias="type")
    data: dict[str, Any]
    priority: int | None = Field(description="null: the job type's default.")
    active: bool
    last_run_at: datetime | None = Field(
        description="The last run time handled (enqueued, or refused: see lastError)."
    )
    last_job_id: int | None = Field(description="The job of the last run.")
    last_error: str | None = Field(
        description="Why the last run was not enqueued, or why the schedule was disabled."
    )
    next_run_at: datetime | None = Field(
        description="null while inactive, or until a schedule enabled from SQL is planned."
    )
    created_at: datetime
    updated_at: datetime


class ScheduleCreate(Schema):
    """POST /schedules."""

    name: str = Field(
        min_length=1,
        max_length=100,
        pattern=NAME_PATTERN,
        description="Lower-case letters, digits, '.', '_' and '-'.",
    )
    cron: str = Field(min_length=1, max_length=100, description=CRON_DESCRIPTION)
    queue: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=QUEUE_PATTERN,
        description="The job type's queue (the default) or an alias of it.",
    )
    job_type: str = Field(
        alias="type",
        min_length=1,
        max_length=128,
        pattern=JOB_TYPE_PATTERN,
        description="Job type, e.g. cleanup-old-data.",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="The payload of every run, checked now."
    )
    priority: int | None = Field(
        default=None, ge=1, le=10, description="1-10; null: the type's default."
    )
    active: bool = Field(default=False, description="Runs only while true.")


# The default of a PATCH field the body left out: never validated, never
# dumped (`exclude_unset`), so a field that may not be null need not be typed
# as nullable.
LEFT_OUT: Any = None


class SchedulePatch(Schema):
    """PATCH /schedules/:name: the fields to change (priority null: the type's default).

    The snake_case names are the fields `schedules.update` takes, so
    `model_dump(exclude_unset=True)` is the change. Only `priority` may be
    null: the others are typed without None (their default, `LEFT_OUT`, is
    never validated and never dumped), so the document and the server agree
    that `"cron": null` is refused.
    """

    cron: str = Field(
        default=LEFT_OUT, min_length=1, max_length=100, description=CRON_DESCRIPTION
    )
    queue: str = Field(
        default=LEFT_OUT, min_length=1, max_length=64, pattern=QUEUE_PATTERN
    )
    job_type: str = Field(
        default=LEFT_OUT,
        alias="type",
        min_length=1,
        max_length=128,
        pattern=JOB_TYPE_PATTERN,
    )
    data: dict[str, Any] = Field(default=LEFT_OUT)
    priority: int | None = Field(default=None, ge=1, le=10)
    active: bool = Field(default=LEFT_OUT)
