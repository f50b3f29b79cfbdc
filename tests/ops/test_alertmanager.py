"""ops/alertmanager/alertmanager.yml: amtool accepts it; every alert of our rules
goes to the receiver its comments decide (the pager only for what the service
cannot page about itself); and a real Alertmanager, its webhooks pointed at a
local server, delivers alerts posted to it and alerts a real Prometheus, with
the `alerting:` of ops/prometheus/prometheus.yml, sent it."""

import time
from pathlib import Path

import pytest
import yaml

from tests.helpers.workers import free_port, wait_for
from tests.ops import processes
from tests.ops.binaries import (
    ALERTMANAGER,
    ALERTMANAGER_CONFIG,
    PROMETHEUS_CONFIG,
    RULES,
    amtool,
    require,
)

PLACEHOLDERS = {
    "pager": "http://pager-webhook.invalid/alertmanager",
    "chat": "http://chat-webhook.invalid/alertmanager",
}
# The alerts that say the service's own paging is down (the monitor and its
# pages run on the maintenance queue and go out through Twilio).
PAGING_PATH_DOWN = {
    ("QueueNoWorkers", "maintenance"),
    ("QueueOldestJobTooOld", "maintenance"),
}


def _rule_alerts() -> list[dict[str, str]]:
    """Return the labels of every alert of our rules, alertname included."""
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [
        {"alertname": rule["alert"], **rule["labels"]}
        for group in groups
        for rule in group["rules"]
        if "alert" in rule
    ]


def _rule(alertname: str, **labels: str) -> dict[str, str]:
    [found] = [
        alert
        for alert in _rule_alerts()
        if alert["alertname"] == alertname
        and all(alert.get(k) == v for k, v in labels.items())
    ]
    return found


def _expected_receiver(labels: dict[str, str]) -> str:
    """The decision of alertmanager.yml's comments, restated."""
    if (labels["alertname"], labels.get("queue_name")) in PAGING_PATH_DOWN:
        return "pager"
    if labels["alertname"] == "CircuitBreakerOpen" and labels["provider"] == "twilio":
        return "pager"
    if labels.get("paged_by") == "queue-service":
        return "chat"
    return "pager" if labels["severity"] == "critical" else "chat"


def _routed_to(labels: dict[str, str]) -> str:
    result = amtool(
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        *(f"{name}={value}" for name, value in labels.items()),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def test_amtool_accepts_the_config():
    result = amtool("check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    assert "2 receivers" in result.stdout


def test_the_receivers_are_the_documented_placeholders():
    # Hosts under .invalid never resolve: a forgotten placeholder fails loudly
    # in Alertmanager's log and metrics, it never reaches someone else's host.
    text = ALERTMANAGER_CONFIG.read_text()
    receivers = yaml.safe_load(text)["receivers"]
    urls = {
        receiver["name"]: [hook["url"] for hook in receiver["webhook_configs"]]
        for receiver in receivers
    }
    assert urls == {
        "pager": [PLACEHOLDERS["pager"], PLACEHOLDERS["chat"]],
        "chat": [PLACEHOLDERS["chat"]],
    }


def test_alerts_group_by_name_and_queue():
    route = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())["route"]
    assert route["group_by"] == ["alertname", "queue_name"]
    assert route["receiver"] == "chat"


def _routing_cases() -> list[dict[str, str]]:
    # A breaker's alert is routed by its provider, a label of the series.
    cases = []
    for labels in _rule_alerts():
        if labels["alertname"] == "CircuitBreakerOpen":
            cases += [{**labels, "provider": p} for p in ("twilio", "stripe")]
        else:
            cases.append(labels)
    return cases


def _case_id(labels: dict[str, str]) -> str:
    keys = ("alertname", "queue_name", "severity", "provider")
    return "-".join(labels[key] for key in keys if key in labels)


@pytest.mark.parametrize("labels", _routing_cases(), ids=_case_id)
def test_each_alert_of_the_rules_goes_to_its_receiver(labels):
    assert _routed_to(labels) == _expected_receiver(labels)


def test_the_service_never_pages_twice():
    # What the monitor pages about reaches chat alone; every other critical
    # alert pages.
    alerts = _rule_alerts()
    paged_by_service = [a for a in alerts if a.get("paged_by") == "queue-service"]
    assert {a["alertname"] for a in paged_by_service} >= {
        "QueueDepthHigh",
        "QueueOldestJobTooOld",
        "QueueFailureRateHigh",
        "QueueNoWorkers",
        "DatabaseLongTransaction",
    }
    for alert in paged_by_service:
        assert _routed_to(alert) == "chat", alert
    others = [a for a in alerts if a["severity"] == "critical" and "paged_by" not in a]
    assert {a["alertname"] for a in others} == {"ApiDown", "ApiAbsent"}
    for alert in others:
        assert _routed_to(alert) == "pager", alert


# -- a real Alertmanager --


def _local_config(tmp_path, receiver_url: str) -> Path:
    """Return ops' Alertmanager config with its webhooks on the local receiver.

    Only the URLs and the waits change: the routes, the grouping and the
    inhibition are the file's.
    """
    text = ALERTMANAGER_CONFIG.read_text()
    for name, placeholder in PLACEHOLDERS.items():
        assert placeholder in text
        text = text.replace(placeholder, f"{receiver_url}/{name}")
    config = yaml.safe_load(text)
    config["route"]["group_wait"] = "1s"
    config["route"]["group_interval"] = "1s"
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    result = amtool("check-config", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    return path


def _delivered(receiver) -> set[tuple[str, str, str, str]]:
    """(webhook, alertname, queue_name, severity) of every firing alert delivered."""
    return {
        (
            delivery.path.removeprefix("/"),
            alert["labels"]["alertname"],
            alert["labels"].get("queue_name", ""),
            alert["labels"]["severity"],
        )
        for delivery in list(receiver.deliveries)
        for alert in delivery.json["alerts"]
        if alert["status"] == "firing"
    }


def _key(webhook: str, labels: dict[str, str]) -> tuple[str, str, str, str]:
    return (
        webhook,
        labels["alertname"],
        labels.get("queue_name", ""),
        labels["severity"],
    )


def test_alertmanager_pages_and_notifies_chat_through_its_webhooks(
    tmp_path, fake_webhook_receiver
):
    money_backlog = _rule("QueueDepthHigh", queue_name="money")
    api_down = {**_rule("ApiDown"), "instance": "api:3020", "job": "queue-service-api"}
    bloat = {**_rule("TableBloat"), "table": "procrastinate_jobs"}
    no_monitor = _rule("QueueNoWorkers", queue_name="maintenance")
    old_transaction = _rule("DatabaseLongTransaction", severity="warning")
    very_old_transaction = _rule("DatabaseLongTransaction", severity="critical")
    alerts = [
        money_backlog,
        api_down,
        bloat,
        no_monitor,
        old_transaction,
        very_old_transaction,
    ]
    config = _local_config(tmp_path, fake_webhook_receiver.url)
    (tmp_path / "data").mkdir()
    binary = require(ALERTMANAGER)
    with processes.alertmanager(binary, config, tmp_path / "data", free_port()) as base:
        status, body = processes.post(
            f"{base}/api/v2/alerts",
            [
                {"labels": labels, "annotations": {"summary": "test"}}
                for labels in alerts
            ],
            headers={},
        )
        assert status == 200, body
        expected = {
            _key("chat", money_backlog),
            _key("chat", bloat),
            _key("chat", very_old_transaction),
            _key("pager", api_down),
            _key("chat", api_down),
            _key("pager", no_monitor),
            _key("chat", no_monitor),
        }
        wait_for(
            lambda: _delivered(fake_webhook_receiver) >= expected,
            timeout=30,
            what="Alertmanager to notify the pager and chat",
        )
        # Every group has flushed once by now (1 s waits). A page that should
        # not be, or the warning the critical one inhibits, would come within
        # a few more flushes: waiting for nothing has no condition to poll.
        time.sleep(3)
    # No page for what the service pages about, nor for the warnings; the
    # critical transaction silences its warning.
    assert _delivered(fake_webhook_receiver) == expected


def test_prometheus_sends_its_alerts_to_alertmanager(tmp_path, fake_webhook_receiver):
    # ops/prometheus/prometheus.yml's `alerting:`, its compose target replaced by
    # the local Alertmanager; one rule that fires at once.
    manager_port = free_port()
    alerting = yaml.safe_load(PROMETHEUS_CONFIG.read_text())["alerting"]
    for manager in alerting["alertmanagers"]:
        for static in manager["static_configs"]:
            assert static["targets"] == ["alertmanager:9093"]
            static["targets"] = [f"127.0.0.1:{manager_port}"]
    rules = tmp_path / "wiring.rules.yml"
    rules.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "wiring",
                        "rules": [
                            {
                                "alert": "WiringCheck",
                                "expr": "vector(1)",
                                "labels": {"severity": "critical"},
                            }
                        ],
                    }
                ]
            }
        )
    )
    prometheus_config = tmp_path / "prometheus.yml"
    prometheus_config.write_text(
        yaml.safe_dump(
            {
                "global": {"evaluation_interval": "1s"},
                "rule_files": [str(rules)],
                "alerting": alerting,
            }
        )
    )
    config = _local_config(tmp_path, fake_webhook_receiver.url)
    for name in ("am-data", "prom-data"):
        (tmp_path / name).mkdir()
    with (
        processes.alertmanager(
            require(ALERTMANAGER), config, tmp_path / "am-data", manager_port
        ),
        processes.prometheus(
            require("prometheus"),
            prometheus_config,
            tmp_path / "prom-data",
            free_port(),
            # The first send may come before Prometheus has found the
            # Alertmanager (and is dropped); resend each second, not each minute.
            "--rules.alert.resend-delay=1s",
        ),
    ):
        wait_for(
            lambda: (
                ("pager", "WiringCheck", "", "critical")
                in _delivered(fake_webhook_receiver)
            ),
            timeout=60,
            what="Prometheus's alert to reach the pager through Alertmanager",
        )
