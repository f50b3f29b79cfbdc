"""The Prometheus exposition of a running API and of a running worker passes
`promtool check metrics`, and carries the names the rules and panels read."""

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from tests.helpers.workers import (
    enqueue,
    free_port,
    prepare_test_tasks,
    wait_for,
    worker_process,
)
from tests.ops import processes
from tests.ops.binaries import promtool


def _samples(text: str) -> list:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _lint(text: str) -> None:
    result = promtool("check", "metrics", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""


def test_api_exposition_passes_promtool(db_dsn, tmp_path):
    with processes.api(db_dsn, tmp_path, free_port()) as base:
        assert processes.get(f"{base}/health/live")[0] == 200
        status, text = processes.get(f"{base}/metrics")
    assert status == 200
    _lint(text)
    samples = _samples(text)
    assert any(
        s.name == "queue_depth"
        and s.labels == {"queue_name": "money", "status": "waiting"}
        and s.value == 0
        for s in samples
    )
    assert any(
        s.name == "http_requests_total"
        and s.labels["app_name"] == "queue_service"
        and s.labels["path"] == "/health/live"
        for s in samples
    )
    assert any(s.name == "http_request_duration_seconds_bucket" for s in samples)


def _status(dsn: str, job_id: int) -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT status FROM procrastinate_jobs WHERE id = %s", (job_id,)
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_worker_exposition_passes_promtool(db_dsn, tmp_path):
    prepare_test_tasks(db_dsn)
    port = free_port()
    with worker_process(db_dsn, tmp_path, WORKER_METRICS_PORT=str(port)):
        job = enqueue(db_dsn, "money", "test-record-money", {"value": "v"})
        wait_for(lambda: _status(db_dsn, job) == "succeeded", what="the job to run")
        status, text = processes.get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200
    _lint(text)
    samples = _samples(text)
    assert any(
        s.name == "job_results_total"
        and s.labels
        == {
            "queue_name": "money",
            "job_type": "test-record-money",
            "result": "succeeded",
        }
        and s.value == 1
        for s in samples
    )
    assert any(s.name == "job_processing_duration_seconds_bucket" for s in samples)
