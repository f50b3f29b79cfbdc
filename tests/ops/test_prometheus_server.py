"""A real Prometheus server (Debian's) scrapes a running `queue-service serve`,
evaluates our alert rules, and answers `queue_depth` through its query API."""

import json

import psycopg
import yaml
from psycopg.types.json import Jsonb

from tests.helpers.workers import free_port, wait_for
from tests.ops import processes
from tests.ops.binaries import RULES, require


def _enqueue_waiting_jobs(dsn: str, *, background: int, money: int) -> None:
    jobs = [
        {
            "queue": "background",
            "job_type": "analytics-track",
            "data": {"eventType": "x"},
        }
    ] * background + [
        {
            "queue": "money",
            "job_type": "payment-process",
            "data": {
                "venueId": "00000000-0000-4000-8000-000000000001",
                "userId": "00000000-0000-4000-8000-000000000002",
                "eventId": "00000000-0000-4000-8000-000000000003",
                "amount": 100 + index,
                "currency": "USD",
                "paymentMethodId": "pm_1",
            },
        }
        for index in range(money)
    ]
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM queue.enqueue_many(%s)", (Jsonb(jobs),))


def _value(base: str, promql: str) -> float | None:
    result = processes.query(base, promql)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_scrapes_queue_depth_from_a_running_api(db_dsn, tmp_path):
    binary = require("prometheus")
    _enqueue_waiting_jobs(db_dsn, background=7, money=2)  # no worker runs: they wait
    api_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(RULES)],
                "scrape_configs": [
                    {
                        "job_name": "queue-service-api",
                        "static_configs": [{"targets": [f"127.0.0.1:{api_port}"]}],
                    }
                ],
            }
        )
    )
    (tmp_path / "data").mkdir()
    with (
        processes.api(db_dsn, tmp_path, api_port),
        processes.prometheus(binary, config, tmp_path / "data", free_port()) as base,
    ):
        wait_for(
            lambda: _value(base, 'up{job="queue-service-api"}') == 1,
            timeout=60,
            what="the first scrape of the API",
        )
        background = _value(
            base, 'queue_depth{queue_name="background", status="waiting"}'
        )
        money = _value(base, 'queue_depth{queue_name="money", status="waiting"}')
        running = _value(base, 'queue_depth{queue_name="money", status="active"}')

        def evaluated_rules() -> list[dict] | None:
            _, body = processes.get(f"{base}/api/v1/rules")
            groups = json.loads(body)["data"]["groups"]
            rules = [rule for group in groups for rule in group["rules"]]
            if rules and all(rule["health"] != "unknown" for rule in rules):
                return rules
            return None

        rules = wait_for(evaluated_rules, timeout=60, what="the rules to be evaluated")
    assert (background, money, running) == (7, 2, 0)
    assert isinstance(rules, list)
    expected = sum(len(g["rules"]) for g in yaml.safe_load(RULES.read_text())["groups"])
    assert len(rules) == expected
    assert [rule["name"] for rule in rules if rule["health"] != "ok"] == []
