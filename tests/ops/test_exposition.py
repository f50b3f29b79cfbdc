"""The Prometheus exposition of a running API and of a running worker passes
`promtool check metrics`, and carries the names the rules and panels read,
the old service's among them; every other name of ours is queue_service_..."""

import psycopg
from prometheus_client.parser import text_string_to_metric_families

from app.api.auth import issue_token
from app.domain.access import Role
from app.observability.metrics import OLD_NAMES, PREFIX
from tests.helpers.workers import (
    enqueue,
    free_port,
    prepare_test_tasks,
    wait_for,
    worker_process,
)
from tests.ops import processes
from tests.ops.binaries import promtool

# The old service named a gauge like a counter, and its dashboards read that
# name: the one naming problem promtool may find in the API's exposition.
OLD_GAUGE_NAME = 'failed_jobs_total non-counter metrics should not have "_total" suffix'
QUEUES = {"money", "communication", "background", "maintenance"}


def _samples(text: str) -> list:
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def _types(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


def _named_as_ours(text: str) -> None:
    # The old service's names, prometheus_client's process and Python
    # metrics, and ours: every one of ours starts with queue_service_. (The
    # parser may read a counter's `_created` samples as a family of their own.)
    for family in text_string_to_metric_families(text):
        name = family.name.removesuffix("_created")
        assert (
            name in OLD_NAMES
            or f"{name}_total" in OLD_NAMES
            or name.startswith((PREFIX, "process_", "python_"))
        ), f"{family.name} is neither an old service's name nor {PREFIX}..."


def _lint(text: str, *, allowed: frozenset[str] = frozenset()) -> None:
    result = promtool("check", "metrics", stdin=text)
    said = result.stdout + result.stderr
    problems = set(said.splitlines())
    assert problems <= allowed, said
    # promtool exits 3 for naming problems only, 1 for an exposition it cannot parse.
    assert result.returncode == (3 if problems else 0), said


def test_api_exposition_passes_promtool(db_dsn, tmp_path):
    with processes.api(db_dsn, tmp_path, free_port()) as base:
        assert processes.get(f"{base}/health/live")[0] == 200
        status, text = processes.get(f"{base}/metrics")
    assert status == 200
    _lint(text, allowed=frozenset({OLD_GAUGE_NAME}))
    _named_as_ours(text)
    samples = _samples(text)
    assert any(
        s.name == "queue_depth"
        and s.labels == {"queue_name": "money", "status": "waiting"}
        and s.value == 0
        for s in samples
    )
    assert any(
        s.name == "queue_service_http_requests_total"
        and s.labels["app_name"] == "queue_service"
        and s.labels["path"] == "/health/live"
        for s in samples
    )
    assert any(
        s.name == "queue_service_http_request_duration_seconds_bucket" for s in samples
    )


def test_api_serves_the_old_gauges_on_both_paths(db_dsn, tmp_path):
    # The old service's scrape path needs a monitoring token; /metrics is open.
    token = issue_token(
        secret=processes.JWT_SECRET, role=Role.MONITORING, sub="prometheus"
    )
    with processes.api(db_dsn, tmp_path, free_port()) as base:
        status, text = processes.get(f"{base}/metrics")
        old_status, old_text = processes.get(
            f"{base}/api/v1/queue/metrics/prometheus",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert (status, old_status) == (200, 200)
    for served in (text, old_text):
        types = _types(served)
        assert types["failed_jobs_total"] == "gauge"
        assert types["queue_depth"] == "gauge"
        assert types["oldest_job_age_seconds"] == "gauge"
        kept = {
            s.labels["queue_name"]: s.value
            for s in _samples(served)
            if s.name == "failed_jobs_total"
        }
        assert kept == dict.fromkeys(QUEUES, 0.0)
    assert _types(text) == _types(old_text)


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
    _named_as_ours(text)
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
    # The old service's result for the same attempt, from the same counter.
    assert any(
        s.name == "job_results_total"
        and s.labels
        == {"queue_name": "money", "job_type": "test-record-money", "result": "success"}
        and s.value == 1
        for s in samples
    )
    assert any(s.name == "job_processing_duration_seconds_bucket" for s in samples)
