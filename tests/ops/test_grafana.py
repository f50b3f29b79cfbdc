"""ops/grafana: the dashboard reads the provisioned datasource, only known
metrics, and PromQL that promtool parses."""

import json

import yaml

from tests.ops.binaries import DASHBOARD, OPS, promtool
from tests.ops.metric_names import base_name, known, read_by

ROWS = ["Queue overview", "Job performance", "Alerts", "System"]


def _dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def _panels() -> list[dict]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def _expressions() -> list[str]:
    return [target["expr"] for panel in _panels() for target in panel["targets"]]


def _provisioned_uid() -> str:
    path = OPS / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
    [source] = yaml.safe_load(path.read_text())["datasources"]
    assert source["type"] == "prometheus"
    return source["uid"]


def test_dashboard_has_the_four_rows_in_order():
    dashboard = _dashboard()
    assert dashboard["uid"] == "queue-service"
    assert dashboard["schemaVersion"] == 39
    rows = [panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"]
    assert rows == ROWS


def test_panels_have_unique_ids_and_fit_the_grid():
    panels = _dashboard()["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel
    assert len(_panels()) >= 20


def test_every_panel_and_variable_reads_the_chosen_datasource_the_provisioned_one_first():
    # A datasource variable: imported into an existing Grafana, the dashboard
    # reads whichever Prometheus its operator picks; provisioned here, ours.
    chosen = {"type": "prometheus", "uid": "${datasource}"}
    [source, *variables] = _dashboard()["templating"]["list"]
    assert (source["name"], source["type"], source["query"]) == (
        "datasource",
        "datasource",
        "prometheus",
    )
    assert source["current"]["value"] == _provisioned_uid()
    for panel in _panels():
        assert panel["datasource"] == chosen, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == chosen, panel["title"]
            assert target["expr"].strip(), panel["title"]
    assert variables
    for variable in variables:
        assert variable["datasource"] == chosen


def test_expressions_read_only_known_metrics():
    names = known()
    used = set()
    for expr in _expressions():
        read = {base_name(name, names) for name in read_by(expr)}
        assert read, expr
        assert read <= names, f"unknown metric {read - names} in {expr}"
        used |= read
    # The panels show the old service's names and the new ones alike.
    assert {
        "queue_depth",
        "oldest_job_age_seconds",
        "job_results_total",
        "job_processing_duration_seconds",
        "failed_jobs_total",
        "queue_service_jobs_dead_lettered_total",
        "alerts_sent_total",
        "queue_service_workers_alive",
        "queue_service_circuit_breaker_state",
        "queue_service_db_dead_tuples",
        "queue_service_http_requests_total",
    } <= used


def test_promtool_parses_every_expression(tmp_path):
    # Each expression, with Grafana's variables filled in, becomes a recording
    # rule; `promtool check rules` parses them all.
    rules = [
        {
            "record": f"dashboard:panel_{index}",
            "expr": expr.replace("$__rate_interval", "5m").replace("$queue", ".+"),
        }
        for index, expr in enumerate(_expressions())
    ]
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules)} rules found" in result.stdout


def test_promtool_rejects_a_broken_expression(tmp_path):
    # The check above can fail: an unbalanced parenthesis is an error.
    path = tmp_path / "broken.rules.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {"name": "g", "rules": [{"record": "r", "expr": "sum(queue_depth"}]}
                ]
            }
        )
    )
    result = promtool("check", "rules", str(path))
    assert result.returncode != 0
