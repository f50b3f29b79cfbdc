"""API bodies: snake_case attributes, camelCase on the wire and in the OpenAPI document."""

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from app.api.app import create_app
from app.api.schemas.jobs import BatchCreate, JobAction
from app.api.schemas.schedules import Schedule
from app.settings import ApiSettings, DatabaseSettings, Settings


def test_schema_reads_camel_case_keys_into_snake_case_attributes():
    batch = BatchCreate.model_validate(
        {
            "queue": "background",
            "jobs": [{"type": "cleanup-old-data", "data": {}}],
            "options": {"stopOnError": True, "validateAll": True},
        }
    )
    assert batch.jobs[0].job_type == "cleanup-old-data"
    assert batch.options is not None
    assert (batch.options.stop_on_error, batch.options.validate_all) == (True, True)


@pytest.mark.parametrize(
    ("body", "location"),
    [
        ({"jobId": 1, "status": "queued", "job_id": 1}, ("job_id",)),
        ({"job_id": 1, "status": "queued"}, ("jobId",)),
    ],
)
def test_schema_refuses_snake_case_keys_from_the_wire(body, location):
    with pytest.raises(ValidationError) as excinfo:
        JobAction.model_validate(body)
    assert location in [error["loc"] for error in excinfo.value.errors()]


def test_schema_is_built_by_name_and_dumped_by_alias():
    action = JobAction(job_id=7, status="queued", message="queued")
    assert action.model_dump() == {"job_id": 7, "status": "queued", "message": "queued"}
    assert action.model_dump(by_alias=True) == {
        "jobId": 7,
        "status": "queued",
        "message": "queued",
    }


def test_schema_from_row_reads_snake_case_attributes():
    @dataclass(frozen=True)
    class Row:
        name: str = "nightly"
        cron: str = "@daily"
        queue: str = "background"
        job_type: str = "cleanup-old-data"
        data: dict[str, object] | None = None
        priority: int | None = None
        active: bool = False
        last_run_at: None = None
        last_job_id: None = None
        last_error: None = None
        next_run_at: None = None
        created_at: str = "2026-01-01T00:00:00Z"
        updated_at: str = "2026-01-01T00:00:00Z"

    body = Schedule.from_row(Row(data={}))
    assert body.job_type == "cleanup-old-data"
    assert body.model_dump(mode="json", by_alias=True)["type"] == "cleanup-old-data"


def test_openapi_property_names_are_camel_case():
    settings = Settings(
        env="test",
        database=DatabaseSettings(url="postgresql://user@127.0.0.1/unused"),
        api=ApiSettings(jwt_secret="x" * 40),
    )
    document = create_app(settings).openapi_schema.to_schema()
    components = document["components"]["schemas"]
    snake = sorted(
        f"{name}.{prop}"
        for name, schema in components.items()
        for prop in schema.get("properties", {})
        if "_" in prop
    )
    # Problem bodies keep `request_id`, as every problem has carried it; the
    # old service's snake_case fields are kept under their names, which its
    # clients read (tests/acceptance/test_old_contract_operations.py).
    old_alert = [
        "alert_type",
        "created_at",
        "metric_value",
        "queue_name",
        "threshold_value",
    ]
    assert snake == sorted(
        ["ProblemBody.request_id"]
        + [
            f"{alert}.{field}"
            for alert in ("AcknowledgedAlert", "Alert", "SentTestAlert")
            for field in old_alert
        ]
        + [f"OldFailureTrend.{field}" for field in ("avg_failures", "queue_name")]
        + [
            f"OldTopFailure.{field}"
            for field in ("job_type", "last_failure", "queue_name")
        ]
        + [
            f"SummaryQueue.{field}"
            for field in (
                "avg_active",
                "avg_failed",
                "avg_waiting",
                "max_waiting",
                "queue_name",
            )
        ]
        + [f"ThroughputPoint.{field}" for field in ("jobs_per_minute", "queue_name")]
    )
    assert {"jobId", "status", "options"} <= set(components["JobCreated"]["properties"])
    assert "type" in components["Schedule"]["properties"]
