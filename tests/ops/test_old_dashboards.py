"""The old service's dashboards, queried as its documentation wrote them, against
a real Prometheus with the old scrape config: one target, the running API at the
old scrape path (with a monitoring token, as the old service required), beside
a running worker that Prometheus does not scrape. Every query answers with the
series and labels its panel reads, and the numbers are those of the jobs this
test enqueued, ran and failed: the worker's counters reach the old path as the
fleet's sums."""

import json
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from app.api.auth import issue_token
from app.domain.access import Role
from tests.helpers.workers import (
    enqueue,
    free_port,
    prepare_test_tasks,
    query,
    wait_for,
    worker_process,
)
from tests.ops import processes
from tests.ops.binaries import require


@dataclass(frozen=True)
class Panel:
    """A panel of the old dashboards: its query, and the labels of what it draws."""

    title: str
    query: str
    labels: frozenset[str]


def _labels(*names: str) -> frozenset[str]:
    # Prometheus adds the target's job and instance to every scraped series.
    return frozenset({*names, "job", "instance"})


# Copied from the old service's documentation (MONITORING & OBSERVABILITY,
# "Grafana Dashboards"), the line break of "Success Rate" included.
OLD_PANELS = (
    Panel(
        "Queue Depth",
        'queue_depth{status="waiting"}',
        _labels("__name__", "queue_name", "status"),
    ),
    Panel(
        "Active Jobs",
        'queue_depth{status="active"}',
        _labels("__name__", "queue_name", "status"),
    ),
    Panel("Failed Jobs", "failed_jobs_total", _labels("__name__", "queue_name")),
    Panel(
        "Throughput",
        'rate(job_results_total{result="success"}[5m])',
        _labels("queue_name", "job_type", "result"),
    ),
    Panel(
        "Processing Duration",
        "job_processing_duration_seconds_bucket",
        _labels("__name__", "queue_name", "job_type", "le"),
    ),
    Panel(
        "Success Rate",
        'rate(job_results_total{result="success"}[5m]) / \n'
        "              rate(job_results_total[5m])",
        _labels("queue_name", "job_type", "result"),
    ),
    Panel(
        "Failure Rate",
        'rate(job_results_total{result="failure"}[5m])',
        _labels("queue_name", "job_type", "result"),
    ),
    Panel(
        "Alerts Sent",
        "alerts_sent_total",
        _labels("__name__", "severity", "type", "channel"),
    ),
    Panel(
        "Critical Alerts",
        'alerts_sent_total{severity="critical"}',
        _labels("__name__", "severity", "type", "channel"),
    ),
    Panel("CPU Usage", "rate(process_cpu_seconds_total[5m]) * 100", _labels()),
    Panel("Memory Usage", "process_resident_memory_bytes / 1024 / 1024", _labels()),
)
# "Heap Usage" read V8's heap, which a Python process does not have; "Memory
# Usage" is what there is. Nothing may pretend to be a Node.js heap.
NOT_SERVED = ("nodejs_heap_size_used_bytes / nodejs_heap_size_total_bytes * 100",)
# The old service's metrics and their types ("Exported Metrics").
OLD_TYPES = {
    "queue_depth": "gauge",
    "job_processing_duration_seconds": "histogram",
    "job_results_total": "counter",
    "alerts_sent_total": "counter",
    "oldest_job_age_seconds": "gauge",
    "failed_jobs_total": "gauge",
}
# Its buckets [0.1, 0.5, 1, 2, 5, 10, 30, 60], as prometheus-client writes them.
OLD_BUCKETS = {"0.1", "0.5", "1.0", "2.0", "5.0", "10.0", "30.0", "60.0", "+Inf"}
QUEUES = {"money", "communication", "background", "maintenance"}
OLD_JOB = "queue-service"  # the API, scraped at the old path
# Counters reach the fleet's sums within a second; the test waits for them.
REPORT_EVERY_S = "1"
MONEY = {"queue_name": "money", "job_type": "test-record-money"}


def _token(role: Role, sub: str) -> str:
    return issue_token(secret=processes.JWT_SECRET, role=role, sub=sub)


def _config(api_port: int) -> dict:
    token = _token(Role.MONITORING, "prometheus")  # the old scrape needed one
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": OLD_JOB,
                "metrics_path": "/api/v1/queue/metrics/prometheus",
                "authorization": {"type": "Bearer", "credentials": token},
                "static_configs": [{"targets": [f"127.0.0.1:{api_port}"]}],
            },
        ],
    }


def _values(base: str, promql: str, label: str) -> dict[str, float]:
    return {
        series["metric"][label]: float(series["value"][1])
        for series in processes.query(base, promql)
    }


def _money_results(base: str) -> dict[str, float]:
    return _values(
        base,
        'job_results_total{queue_name="money", job_type="test-record-money"}',
        "result",
    )


def _old_results(base: str) -> tuple[float | None, float | None]:
    results = _money_results(base)
    return results.get("success"), results.get("failure")


def _settle(read: Callable[[], dict], expected: dict, *, what: str) -> None:
    """Wait until `read()` returns `expected`; on a timeout, say what it last returned."""
    seen: list[dict] = []

    def settled() -> bool:
        seen.append(read())
        return seen[-1] == expected

    try:
        wait_for(settled, timeout=60, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}: expected {expected}, saw {seen[-1:]}") from None


def _enqueue_money(dsn: str, *jobs: dict[str, object]) -> None:
    for data in jobs:
        enqueue(dsn, "money", "test-record-money", data)


def _series(answer: list[dict], **labels: str) -> list[dict]:
    return [
        series
        for series in answer
        if all(series["metric"].get(name) == value for name, value in labels.items())
    ]


def _one(answer: list[dict], **labels: str) -> float:
    [series] = _series(answer, **labels)
    return float(series["value"][1])


def _metadata(base: str, metric: str) -> set[str]:
    status, body = processes.get(f"{base}/api/v1/metadata?metric={metric}")
    assert status == 200, body
    return {entry["type"] for entry in json.loads(body)["data"].get(metric, [])}


def test_old_dashboard_queries_answer_from_the_running_service(db_dsn, tmp_path):
    binary = require("prometheus")
    prepare_test_tasks(db_dsn)
    # A paused queue keeps its jobs waiting while the worker runs the others.
    query(db_dsn, "UPDATE queue.queues SET paused = true WHERE name = 'communication'")
    for _ in range(3):
        enqueue(db_dsn, "communication", "test-record-communication", {"value": "w"})
    api_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(yaml.safe_dump(_config(api_port)))
    (tmp_path / "data").mkdir()
    admin = {"Authorization": f"Bearer {_token(Role.ADMIN, 'ops')}"}
    with (
        processes.api(
            db_dsn, tmp_path, api_port, METRICS_REPORT_S=REPORT_EVERY_S
        ) as api,
        # Rescue is not under test: a heartbeat late on a loaded machine must
        # not return a running job and add an attempt to the counts.
        worker_process(
            db_dsn,
            tmp_path,
            WORKER_METRICS_PORT="0",  # the old config scrapes the API alone
            WORKER_STALLED_AFTER_S="60",
            METRICS_REPORT_S=REPORT_EVERY_S,
        ),
        processes.prometheus(binary, config, tmp_path / "data", free_port()) as base,
    ):
        _settle(
            lambda: _values(base, "up == 1", "job"),
            {OLD_JOB: 1},
            what="the API to be scraped",
        )
        # Two waves, the first seen by Prometheus before the second runs, so
        # the rates have a rise to measure.
        _enqueue_money(db_dsn, {"value": "a"}, {"permanent": True})
        _settle(lambda: _old_results(base), (1, 1), what="the first wave's results")
        _enqueue_money(
            db_dsn,
            {"value": "b"},
            {"fail_attempts": 1},
            {"permanent": True},
            {"permanent": True},
            {"permanent": True},
        )
        status, body = processes.post(
            f"{api}/api/v1/queue/alerts/test",
            {"severity": "critical", "channel": "log"},
            headers=admin,
        )
        assert status == 200, body  # the old contract's status for a test alert
        _settle(
            lambda: {
                "old results": _old_results(base),
                "kept": _values(base, "failed_jobs_total", "queue_name").get("money"),
                # The API is scraped apart from the worker: its last reading
                # must come after the retried job left the queue too.
                "money": _values(base, 'queue_depth{queue_name="money"}', "status"),
                "test alerts": _values(base, 'alerts_sent_total{type="test"}', "job"),
            },
            {
                "old results": (3, 5),
                "kept": 4,
                "money": {"waiting": 0, "delayed": 0, "active": 0},
                "test alerts": {OLD_JOB: 1},
            },
            what="the second wave's results and the test alert",
        )
        answers = {
            panel.title: processes.query(base, panel.query) for panel in OLD_PANELS
        }
        unserved = [processes.query(base, promql) for promql in NOT_SERVED]
        results = _money_results(base)
        types = {metric: _metadata(base, metric) for metric in OLD_TYPES}

    for panel in OLD_PANELS:
        answer = answers[panel.title]
        assert answer, f"{panel.title}: {panel.query!r} answered nothing"
        for series in answer:
            assert set(series["metric"]) == panel.labels, (panel.title, series)
            assert series["metric"].get("queue_name", "money") in QUEUES, series
    assert unserved == [[]]
    assert types == {metric: {kind} for metric, kind in OLD_TYPES.items()}

    # The gauges: the paused queue's three jobs wait, money's four dead
    # letters are kept (beside its three succeeded jobs); both read by the API
    # from SQL at the old path.
    waiting = answers["Queue Depth"]
    assert {s["metric"]["queue_name"] for s in waiting} == QUEUES
    assert _one(waiting, queue_name="communication", job=OLD_JOB) == 3
    assert _one(waiting, queue_name="money", job=OLD_JOB) == 0
    assert _one(answers["Active Jobs"], queue_name="money", job=OLD_JOB) == 0
    failed = answers["Failed Jobs"]
    assert {s["metric"]["job"] for s in failed} == {OLD_JOB}
    assert {s["metric"]["queue_name"]: float(s["value"][1]) for s in failed} == {
        "money": 4,
        "communication": 0,
        "background": 0,
        "maintenance": 0,
    }

    # The counters, counted by the worker that ran the attempts and served by
    # the API as the fleet's sums: eight attempts,
    # three successes (one after a retry) and five failures (the retried
    # attempt among them, as the old service counted), beside the new results.
    assert results == {"succeeded": 3, "failed": 5, "success": 3, "failure": 5}
    for title, result in (("Throughput", "success"), ("Failure Rate", "failure")):
        rate = _one(answers[title], **MONEY, result=result, job=OLD_JOB)
        assert rate > 0, title
    # The old query divides each series by itself (one-to-one on every
    # label, result included), so it reads 1 where jobs succeeded.
    assert _one(answers["Success Rate"], **MONEY, result="success") == 1
    buckets = _series(answers["Processing Duration"], **MONEY, job=OLD_JOB)
    assert {s["metric"]["le"] for s in buckets} >= OLD_BUCKETS
    assert _one(buckets, le="+Inf") == 8

    # The test alert, counted by the API that sent it, reported like the rest.
    for title in ("Alerts Sent", "Critical Alerts"):
        test_alert = {"severity": "critical", "type": "test", "channel": "log"}
        assert _one(answers[title], **test_alert, job=OLD_JOB) == 1, title
    assert {s["metric"]["severity"] for s in answers["Critical Alerts"]} == {"critical"}
    for title in ("CPU Usage", "Memory Usage"):
        assert {s["metric"]["job"] for s in answers[title]} == {OLD_JOB}
    assert all(float(s["value"][1]) > 0 for s in answers["Memory Usage"])
