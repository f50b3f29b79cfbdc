"""ops/prometheus/rules: promtool accepts them, their unit tests pass, and they
agree with the queues' own thresholds, the known metrics and the runbook."""

import re
import shutil
from datetime import timedelta

import psycopg
import pytest
import yaml

from tests.ops.binaries import RULE_TESTS, RULES, RUNBOOK, promtool
from tests.ops.metric_names import base_name, known, read_by

TIER_GROUPS = {
    "money": ("queue-service-money", "critical"),
    "communication": ("queue-service-communication", "warning"),
    "background": ("queue-service-background", "info"),
    "maintenance": ("queue-service-maintenance", "warning"),
}
PER_QUEUE_ALERTS = (
    "QueueDepthHigh",
    "QueueOldestJobTooOld",
    "QueueFailureRateHigh",
    "QueueNoWorkers",
)


def _groups() -> list[dict]:
    return yaml.safe_load(RULES.read_text())["groups"]


def _alerts() -> list[dict]:
    return [rule for group in _groups() for rule in group["rules"] if "alert" in rule]


def _github_anchor(heading: str) -> str:
    # How GitHub (and most Markdown renderers) name a heading's anchor.
    slug = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return slug.replace(" ", "-")


def test_promtool_accepts_every_rule():
    result = promtool("check", "rules", str(RULES))
    rules = sum(len(group["rules"]) for group in _groups())
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {rules} rules found" in result.stdout


def test_rule_unit_tests_pass():
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rule_unit_tests_fail_when_a_threshold_changes(tmp_path):
    # The unit tests pin the thresholds: raising money's depth threshold from
    # 50 to 500 must make them fail.
    changed = RULES.read_text().replace(
        'queue_depth{queue_name="money", status="waiting"}) > 50\n',
        'queue_depth{queue_name="money", status="waiting"}) > 500\n',
    )
    assert changed != RULES.read_text()
    (tmp_path / "queue-service.rules.yml").write_text(changed)
    (tmp_path / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    result = promtool("test", "rules", str(tmp_path / "tests" / RULE_TESTS.name))
    assert result.returncode != 0
    assert "alertname: QueueDepthHigh" in result.stdout + result.stderr


def test_every_alert_has_severity_summary_description_and_runbook_url():
    alerts = _alerts()
    assert len(alerts) >= 20
    for rule in alerts:
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, rule
        annotations = rule["annotations"]
        assert {"summary", "description", "runbook_url"} <= annotations.keys(), rule
        assert annotations["runbook_url"].startswith("ops/runbook.md#"), rule


def test_every_runbook_url_names_a_section_of_the_runbook():
    headings = re.findall(r"^#{2,4} (.+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    anchors = {_github_anchor(heading) for heading in headings}
    for rule in _alerts():
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in anchors, f"{rule['alert']}: no runbook section #{anchor}"
    for section in ("service-down", "backlog", "data-loss", "duplicate-execution"):
        assert section in anchors


@pytest.mark.parametrize("queue", list(TIER_GROUPS))
def test_each_tier_has_its_queue_alerts_with_the_tiers_severity(queue):
    group_name, severity = TIER_GROUPS[queue]
    [group] = [group for group in _groups() if group["name"] == group_name]
    by_name = {rule["alert"]: rule for rule in group["rules"]}
    for alert in PER_QUEUE_ALERTS:
        rule = by_name[alert]
        assert rule["labels"]["queue_name"] == queue
        assert rule["labels"]["severity"] == severity
        assert f'queue_name="{queue}"' in rule["expr"]


def test_alerts_cover_stalled_jobs_bloat_and_old_transactions():
    names = {rule["alert"] for rule in _alerts()}
    assert {
        "StalledJobs",
        "TableBloat",
        "AutovacuumStale",
        "DatabaseLongTransaction",
        "ApiDown",
        "WorkerDown",
    } <= names


def test_rules_read_only_known_metrics():
    names = known()
    for group in _groups():
        for rule in group["rules"]:
            read = {base_name(name, names) for name in read_by(rule["expr"])}
            assert read, rule["expr"]
            assert read <= names, f"{rule.get('alert')}: unknown {read - names}"


def _threshold(expr: str, metric: str) -> float:
    found = re.search(rf"{metric}\{{[^}}]*\}}(?:\[1h\])?\)+ > ([0-9.e+]+)", expr)
    assert found, f"no threshold on {metric} in {expr!r}"
    return float(found.group(1))


def test_thresholds_are_the_queues_own(db_dsn):
    # The service's monitor alerts from queue.queues; Prometheus must agree.
    with psycopg.connect(db_dsn) as conn:
        rows = conn.execute(
            "SELECT name, alert_max_waiting, alert_max_oldest_age, alert_max_failed_per_hour "
            "FROM queue.queues"
        ).fetchall()
    assert {row[0] for row in rows} == set(TIER_GROUPS)
    for queue, waiting, oldest_age, failed_per_hour in rows:
        group_name, _ = TIER_GROUPS[queue]
        [group] = [group for group in _groups() if group["name"] == group_name]
        by_name = {rule["alert"]: rule["expr"] for rule in group["rules"]}
        assert _threshold(by_name["QueueDepthHigh"], "queue_depth") == waiting, queue
        assert _threshold(
            by_name["QueueOldestJobTooOld"], "oldest_job_age_seconds"
        ) == oldest_age / timedelta(seconds=1), queue
        assert (
            _threshold(by_name["QueueFailureRateHigh"], "jobs_dead_lettered_total")
            == failed_per_hour
        ), queue
