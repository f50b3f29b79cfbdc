"""ops/prometheus/prometheus.yml: promtool accepts it, it loads the rules, and it
scrapes the Compose services on the ports they serve metrics on."""

import yaml

from tests.ops.binaries import COMPOSE_FILE, PROMETHEUS_CONFIG, RULES, promtool


def _config() -> dict:
    return yaml.safe_load(PROMETHEUS_CONFIG.read_text())


def test_promtool_accepts_the_config_and_finds_the_rule_file():
    # Rule file globs resolve against the config file's directory, as inside
    # the container, where ops/prometheus is mounted at /etc/prometheus.
    result = promtool("check", "config", str(PROMETHEUS_CONFIG))
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "SUCCESS: 1 rule files found" in output
    assert f"Checking {RULES}" in output


def test_scrapes_the_api_and_every_worker_replica_by_dns():
    compose = yaml.safe_load(COMPOSE_FILE.read_text())["services"]
    jobs = {job["job_name"]: job for job in _config()["scrape_configs"]}

    [api] = jobs["queue-service-api"]["dns_sd_configs"]
    assert api["names"] == ["api"] and api["type"] == "A"
    assert api["port"] == 3020
    assert "3020:3020" in compose["api"]["ports"]
    assert jobs["queue-service-api"]["metrics_path"] == "/metrics"

    # Compose's DNS answers `worker` with one record per replica.
    [worker] = jobs["queue-service-worker"]["dns_sd_configs"]
    assert worker["names"] == ["worker"] and worker["type"] == "A"
    assert (
        str(worker["port"]) == compose["worker"]["environment"]["WORKER_METRICS_PORT"]
    )
    assert (
        "ports" not in compose["worker"] and "container_name" not in compose["worker"]
    )


def test_rule_alerts_name_the_scrape_jobs_that_exist():
    jobs = {job["job_name"] for job in _config()["scrape_configs"]}
    rules = RULES.read_text()
    for job in ("queue-service-api", "queue-service-worker"):
        assert job in jobs
        assert f'job="{job}"' in rules
