"""docker-compose.yml, checked offline: the real Compose binary parses, validates
and interpolates it (`config`), and every file, service and variable it names
resolves. No Docker engine is reachable here, so nothing is started."""

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from app.settings import known_variables
from tests.ops.binaries import (
    ALERTMANAGER_CONFIG,
    COMPOSE_FILE,
    OPS,
    PROMETHEUS_CONFIG,
    REPO,
    compose_binary,
)

REQUIRED = {
    "JWT_SECRET": "jwt-secret-for-compose-validation",
    "POSTGRES_PASSWORD": "postgres-password-for-compose-validation",
    "GRAFANA_ADMIN_PASSWORD": "grafana-password-for-compose-validation",
}
APP_SERVICES = ("migrate", "api", "worker")


def _compose(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # An empty env file, so a developer's .env cannot change the answer, and a
    # home of its own, so no Docker client configuration is read.
    env_file = tmp_path / "empty.env"
    env_file.write_text("")
    return subprocess.run(
        [
            str(compose_binary()),
            "--env-file",
            str(env_file),
            "--project-directory",
            str(REPO),
            "-f",
            str(COMPOSE_FILE),
            *args,
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def rendered(tmp_path) -> dict:
    result = _compose(tmp_path, "config", "--format", "json", env=REQUIRED)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_accepts_the_file(tmp_path):
    result = _compose(tmp_path, "config", "--quiet", env=REQUIRED)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_a_missing_secret_stops_compose_and_is_named(tmp_path, missing):
    env = {k: v for k, v in REQUIRED.items() if k != missing}
    result = _compose(tmp_path, "config", "--quiet", env=env)
    assert result.returncode != 0
    assert f"required variable {missing} is missing a value" in result.stderr


def test_required_variables_are_documented():
    required = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):\?", COMPOSE_FILE.read_text()))
    assert required == set(REQUIRED)
    operations = (REPO / "docs" / "operations.md").read_text()
    configuration = operations.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    for name in required:
        assert f"`{name}`" in configuration, (
            f"{name} is not in docs/operations.md's Configuration"
        )


def test_services_of_the_stack(rendered):
    assert set(rendered["services"]) == {
        "postgres",
        "migrate",
        "api",
        "worker",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert rendered["services"]["postgres"]["image"] == "postgres:15"
    assert "pg_isready" in " ".join(
        rendered["services"]["postgres"]["healthcheck"]["test"]
    )


def test_one_image_migrate_runs_once_first(rendered):
    services = rendered["services"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"queue-service:local"}
    assert {services[name]["command"][0] for name in APP_SERVICES} == {
        "migrate",
        "serve",
        "worker",
    }
    assert services["migrate"]["command"] == ["migrate"]
    assert services["migrate"]["restart"] == "no"
    assert (
        services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    )
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_every_service_waited_on_for_health_has_a_healthcheck(rendered):
    services = rendered["services"]
    for name, service in services.items():
        for target, dependency in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if dependency["condition"] == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no healthcheck"
    assert "/health/ready" in " ".join(services["api"]["healthcheck"]["test"])


def test_worker_scales(rendered):
    worker = rendered["services"]["worker"]
    assert "container_name" not in worker
    assert "ports" not in worker
    assert worker["environment"]["WORKER_METRICS_PORT"] == "9464"


def test_app_services_get_only_known_settings(rendered):
    # The service refuses unknown variables with its prefixes at start.
    for name in APP_SERVICES:
        environment = rendered["services"][name]["environment"]
        assert set(environment) <= known_variables(), name
        assert environment["QUEUE_ENV"] == "prod"
        assert environment["JWT_SECRET"] == REQUIRED["JWT_SECRET"]
        assert "@postgres:5432/" in environment["DATABASE_URL"]


def test_provider_secrets_pass_through_only_when_set(tmp_path, rendered):
    # Unset in the shell: unset in the container (null), never "" (an empty
    # key would count as configured).
    assert rendered["services"]["worker"]["environment"]["STRIPE_SECRET_KEY"] is None
    result = _compose(
        tmp_path,
        "config",
        "--format",
        "json",
        env={**REQUIRED, "STRIPE_SECRET_KEY": "sk_test_123"},
    )
    assert result.returncode == 0, result.stderr
    worker = json.loads(result.stdout)["services"]["worker"]
    assert worker["environment"]["STRIPE_SECRET_KEY"] == "sk_test_123"  # noqa: S105 - test only


def test_every_referenced_file_exists(rendered):
    for name, service in rendered["services"].items():
        if "build" in service:
            context = Path(service["build"]["context"])
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for volume in service.get("volumes", []):
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: {volume['source']}"
            else:
                assert volume["source"] in rendered["volumes"], name


def _mount(service: dict, source: Path) -> str:
    [target] = [
        v["target"] for v in service["volumes"] if v.get("source") == str(source)
    ]
    return target


def test_prometheus_reads_the_mounted_config(rendered):
    prometheus = rendered["services"]["prometheus"]
    target = _mount(prometheus, OPS / "prometheus")
    assert f"--config.file={target}/prometheus.yml" in prometheus["command"]


def test_alertmanager_reads_the_mounted_config_and_prometheus_sends_to_it(rendered):
    alertmanager = rendered["services"]["alertmanager"]
    assert re.fullmatch(r"prom/alertmanager:v\d+\.\d+\.\d+", alertmanager["image"])
    target = _mount(alertmanager, ALERTMANAGER_CONFIG)
    assert f"--config.file={target}" in alertmanager["command"]
    assert "127.0.0.1:9093:9093" in {
        f"{port['host_ip']}:{port['published']}:{port['target']}"
        for port in alertmanager["ports"]
    }
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    [manager] = prometheus["alerting"]["alertmanagers"]
    assert manager["static_configs"] == [{"targets": ["alertmanager:9093"]}]


def test_alertmanager_config_may_be_a_copy_of_the_operators(tmp_path):
    # The webhook URLs are placeholders: an operator mounts a copy with theirs.
    copy = tmp_path / "alertmanager.yml"
    copy.write_text(ALERTMANAGER_CONFIG.read_text())
    result = _compose(
        tmp_path,
        "config",
        "--format",
        "json",
        env={**REQUIRED, "ALERTMANAGER_CONFIG": str(copy)},
    )
    assert result.returncode == 0, result.stderr
    alertmanager = json.loads(result.stdout)["services"]["alertmanager"]
    assert _mount(alertmanager, copy) == "/etc/alertmanager/alertmanager.yml"


def test_grafana_provisioning_matches_its_mounts(rendered):
    grafana = rendered["services"]["grafana"]
    assert (
        _mount(grafana, OPS / "grafana" / "provisioning") == "/etc/grafana/provisioning"
    )
    dashboards_dir = _mount(grafana, OPS / "grafana" / "dashboards")
    provider = yaml.safe_load(
        (OPS / "grafana" / "provisioning" / "dashboards" / "dashboards.yml").read_text()
    )
    [entry] = provider["providers"]
    assert entry["options"]["path"] == dashboards_dir
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home.startswith(dashboards_dir + "/")
    assert (OPS / "grafana" / "dashboards" / Path(home).name).is_file()
    datasources = yaml.safe_load(
        (
            OPS / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
        ).read_text()
    )
    [source] = datasources["datasources"]
    assert source["url"] == "http://prometheus:9090"
    assert "prometheus" in rendered["services"]
