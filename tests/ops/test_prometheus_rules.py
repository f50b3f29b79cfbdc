"""ops/prometheus/rules: the file is `queue-service ops prometheus-rules`'s output
over a freshly migrated database, promtool accepts it, its unit tests pass, and
it agrees with the queues' own thresholds, the monitor's paging, the known
metrics and the runbook."""

import difflib
import os
import re
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import yaml

from app.domain.monitoring import Breach, DatabaseThresholds
from app.observability.alert_rules import (
    COMMAND,
    RULES_PATH,
    QueueThresholds,
    render_rules,
)
from app.services.monitoring import page_channels
from tests.ops.binaries import REPO, RULE_TESTS, RULES, RUNBOOK, promtool
from tests.ops.metric_names import base_name, known, read_by

CLI = (sys.executable, "-m", "app.cli")
# The monitor's breach type behind each alert that mirrors one of its checks.
MONITOR_CHECKS = {
    "QueueDepthHigh": "queue_depth",
    "QueueOldestJobTooOld": "oldest_job_age",
    "QueueFailureRateHigh": "failure_rate",
    "QueueNoWorkers": "no_workers",
    "StalledJobs": "stalled_jobs",
    "TableBloat": "table_bloat",
    "AutovacuumStale": "autovacuum_stale",
    "DatabaseLongTransaction": "long_transaction",
}

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
            _threshold(
                by_name["QueueFailureRateHigh"],
                "queue_service_jobs_dead_lettered_total",
            )
            == failed_per_hour
        ), queue


# -- the file is rendered from the monitor's thresholds --


def _render(dsn: str, tmp_path: Path, **env: str) -> str:
    """Run `queue-service ops prometheus-rules` against `dsn`; return its output."""
    output = tmp_path / "rendered.rules.yml"
    result = subprocess.run(
        [*CLI, "ops", "prometheus-rules", "--output", str(output)],
        cwd=REPO,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "DATABASE_URL": dsn,
            "QUEUE_ENV": "test",
            "LOG_LEVEL": "WARNING",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return output.read_text()


def test_the_checked_in_rules_are_the_commands_output(db_dsn, tmp_path):
    rendered = _render(db_dsn, tmp_path)
    checked_in = RULES.read_text()
    diff = "".join(
        difflib.unified_diff(
            checked_in.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=RULES_PATH,
            tofile=f"`{COMMAND}`",
        )
    )
    assert rendered == checked_in, (
        f"{RULES_PATH} is not what the monitor's thresholds render: regenerate it "
        f"over a freshly migrated database with\n"
        f"  DATABASE_URL=... {COMMAND} --output {RULES_PATH}\n{diff}"
    )


def test_a_threshold_changed_in_the_table_changes_the_rules(db_dsn, tmp_path):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE queue.queues SET alert_max_waiting = 500 WHERE name = 'money'"
        )
    rendered = _render(db_dsn, tmp_path)
    assert rendered != RULES.read_text()
    assert 'queue_depth{queue_name="money", status="waiting"}) > 500\n' in rendered
    # The rule unit tests pin money's threshold of 50: they catch the change.
    (tmp_path / "queue-service.rules.yml").write_text(rendered)
    (tmp_path / "tests").mkdir()
    shutil.copy(RULE_TESTS, tmp_path / "tests" / RULE_TESTS.name)
    result = promtool("test", "rules", str(tmp_path / "tests" / RULE_TESTS.name))
    assert result.returncode != 0
    assert "alertname: QueueDepthHigh" in result.stdout + result.stderr


def test_the_environments_thresholds_win_as_they_do_for_the_monitor(db_dsn, tmp_path):
    rendered = _render(
        db_dsn,
        tmp_path,
        ALERT_THRESHOLD_COMMUNICATION_MAX_WAITING="1234",
        ALERT_THRESHOLD_TRANSACTION_AGE_S="60",
    )
    assert (
        'queue_depth{queue_name="communication", status="waiting"}) > 1234\n'
        in rendered
    )
    assert "max(queue_service_db_oldest_transaction_age_seconds) > 60\n" in rendered
    # Six times the limit is critical, as the monitor has it.
    assert "max(queue_service_db_oldest_transaction_age_seconds) > 360\n" in rendered


def test_a_queue_added_to_the_table_gets_its_alerts(db_dsn, tmp_path):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO queue.queues (name, tier, max_attempts, backoff, "
            "backoff_base_s, keep_succeeded, keep_failed, keep_results, concurrency, "
            "alert_max_waiting, alert_max_oldest_age, alert_max_failed_per_hour, "
            "alert_severity) VALUES ('tickets', 'important', 3, 'fixed', 5, '1 day', "
            "'7 days', true, 5, 700, '15 minutes', 7, 'warning')"
        )
    path = tmp_path / "with-tickets.rules.yml"
    path.write_text(_render(db_dsn, tmp_path))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    [group] = [
        group
        for group in yaml.safe_load(path.read_text())["groups"]
        if group["name"] == "queue-service-tickets"
    ]
    by_name = {rule["alert"]: rule for rule in group["rules"]}
    assert set(by_name) == {*PER_QUEUE_ALERTS, "QueuePausedTooLong"}
    assert "> 700\n" in by_name["QueueDepthHigh"]["expr"]
    assert "> 900\n" in by_name["QueueOldestJobTooOld"]["expr"]
    assert by_name["QueueFailureRateHigh"]["expr"].endswith("> 7\n")
    assert by_name["QueueDepthHigh"]["labels"] == {
        "severity": "warning",
        "tier": "important",
        "queue_name": "tickets",
    }


def test_paged_by_marks_exactly_the_alerts_the_monitor_pages_about():
    for group in _groups():
        for rule in group["rules"]:
            labels = rule["labels"]
            check = MONITOR_CHECKS.get(rule["alert"])
            pages = check is not None and bool(
                page_channels(
                    Breach(
                        labels["severity"], check, labels.get("queue_name"), 0, 0, ""
                    )
                )
            )
            assert (labels.get("paged_by") == "queue-service") == pages, rule["alert"]


def test_label_values_yaml_would_misread_are_quoted():
    # A queue may be named like a YAML boolean: its labels must stay strings.
    queue = QueueThresholds("on", "ephemeral", "info", 10, 60.0, 1)
    text = render_rules([queue], DatabaseThresholds(1000, 300.0))
    [group] = [
        g for g in yaml.safe_load(text)["groups"] if g["name"] == "queue-service-on"
    ]
    assert {rule["labels"]["queue_name"] for rule in group["rules"]} == {"on"}
