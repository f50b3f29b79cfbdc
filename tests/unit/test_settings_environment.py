"""Settings in a real environment: Kubernetes service links start, typos are reported."""

import logging

import pytest

from app.settings import (
    Settings,
    UnknownVariable,
    check_unknown_variables,
    get_settings,
    has_service_link_name,
    is_service_link,
    known_variables,
    load_settings,
    unknown_variables,
)
from tests.helpers.kubernetes import (
    Service,
    ServicePort,
    all_service_links,
    every_service,
    manifest_services,
    service_links,
)

JWT_SECRET = "unit-test-secret-that-is-long-enough-for-hs256"  # noqa: S105 - test only


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with none of our variables but JWT_SECRET (serve refuses the default)."""
    for name in list(known_variables()):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JWT_SECRET", JWT_SECRET)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "app.settings" and r.levelno >= logging.WARNING
    ]


# What each command does with the environment before it starts (app/cli.py
# main: load_settings(dev=command == "dev"); serve then checks the dev-only
# defaults, and its ASGI processes read them through get_settings).
def _serve() -> Settings:
    settings = load_settings()
    settings.check_safe()
    get_settings()
    return settings


COMMANDS = {
    "serve": _serve,
    "worker": load_settings,
    "dev": lambda: load_settings(dev=True),
}


def test_the_manifests_have_services():
    assert "queue-service-api" in {s.name for s in manifest_services()}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("service", every_service(), ids=lambda s: s.name)
def test_commands_load_settings_with_a_services_links(
    environment, caplog, command, service
):
    baseline = COMMANDS[command]()
    links = service_links(service)
    for name, value in links.items():
        environment.setenv(name, value)
    get_settings.cache_clear()
    caplog.set_level(logging.WARNING)
    loaded = COMMANDS[command]()
    assert _warnings(caplog) == []
    # The links are not read as settings.
    assert loaded.model_dump() == baseline.model_dump()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_commands_load_settings_with_every_services_links_at_once(
    environment, caplog, command
):
    for name, value in all_service_links().items():
        environment.setenv(name, value)
    caplog.set_level(logging.WARNING)
    COMMANDS[command]()
    assert _warnings(caplog) == []


def test_the_users_example_loads():
    env = {"QUEUE_SERVICE_API_PORT": "tcp://192.0.2.1:3020"}
    assert unknown_variables(env) == ()


@pytest.mark.parametrize("service", every_service(), ids=lambda s: s.name)
def test_service_links_are_never_unknown(service):
    links = service_links(service)
    assert all(is_service_link(name, value) for name, value in links.items())
    assert unknown_variables(links) == ()


def test_our_settings_that_kubernetes_could_inject_too():
    # Every setting of ours whose name is a service-link shape: a Service named
    # worker-metrics injects WORKER_METRICS_PORT=tcp://... A new one lands here.
    assert {n for n in known_variables() if has_service_link_name(n)} == {
        "WORKER_METRICS_PORT"
    }


@pytest.mark.parametrize(
    "name", sorted(n for n in known_variables() if has_service_link_name(n))
)
def test_a_colliding_setting_holding_a_service_link_keeps_its_default(
    environment, caplog, name
):
    default = Settings().model_dump()
    environment.setenv(name, "tcp://192.0.2.7:9464")
    caplog.set_level(logging.WARNING)
    assert load_settings().model_dump() == default
    assert _warnings(caplog) == [
        f"{name} holds a Kubernetes service link, not a setting; using its default."
    ]


def test_a_service_named_like_a_setting_starts_and_an_explicit_value_wins(
    environment,
):
    service = Service("worker-metrics", "192.0.2.9", (ServicePort(9100),))
    for name, value in service_links(service).items():
        environment.setenv(name, value)
    assert load_settings().worker.metrics_port == 9464
    # The ConfigMap's value wins over the link in a pod (the kubelet adds
    # links only for names the pod does not define).
    environment.setenv("WORKER_METRICS_PORT", "9500")
    assert load_settings().worker.metrics_port == 9500


def test_a_typo_of_ours_is_a_warning_naming_the_closest_setting(environment, caplog):
    environment.setenv("JWT_SECRT", "s3cret")
    caplog.set_level(logging.WARNING)
    settings = load_settings()
    assert settings.api.jwt_secret.get_secret_value() == JWT_SECRET
    assert _warnings(caplog) == [
        "JWT_SECRT names no setting and is ignored; did you mean JWT_SECRET?"
    ]
    [record] = [r for r in caplog.records if r.name == "app.settings"]
    assert (record.action, record.variable, record.closest) == (
        "setting_unknown",
        "JWT_SECRT",
        "JWT_SECRET",
    )


@pytest.mark.parametrize(
    ("name", "value", "closest"),
    [
        ("JWT_SECRT", "x", "JWT_SECRET"),
        ("JWTSECRET", "x", "JWT_SECRET"),
        ("DATBASE_URL", "postgresql://localhost/q", "DATABASE_URL"),
        ("WORKER_POLL_INTERVAL", "1", "WORKER_POLL_INTERVAL_S"),
        ("BREAKER_OPEN", "10", "BREAKER_OPEN_S"),
        # Link-shaped names with values Kubernetes never gives them.
        ("WORKER_METRIC_PORT", "9464", "WORKER_METRICS_PORT"),
        ("QUEUE_SERVICE_HOST", "api.example", None),
        ("RATE_LIMIT_TWILIO_SMS_PER_SEC", "2", "RATE_LIMIT_TWILIO_SMS_PER_S"),
        ("ALERT_THRESHOLD_MONEY_MAX_WAIT", "20", "ALERT_THRESHOLD_MONEY_MAX_WAITING"),
        ("DB_FLAVOUR", "postgres", None),
    ],
)
def test_unknown_variables_that_look_like_ours(name, value, closest):
    assert unknown_variables({name: value}) == (UnknownVariable(name, closest),)


@pytest.mark.parametrize(
    "name",
    [
        "HOME",
        "PATH",
        "PGPORT",
        "HOSTNAME",
        "KUBERNETES_SERVICE_HOST",
        "RATE_LIMIT_TWILIO_SMS_PER_S",
        "ALERT_THRESHOLD_MONEY_MAX_WAITING",
        "TEST_DATABASE_URL",
    ],
)
def test_variables_that_are_not_unknown(name):
    value = "192.0.2.1" if name.endswith("_HOST") else "2"
    assert unknown_variables({name: value}) == ()


def test_check_unknown_variables_warns_without_a_closest_name(caplog):
    caplog.set_level(logging.WARNING)
    found = check_unknown_variables({"DB_FLAVOUR": "postgres"})
    assert found == (UnknownVariable("DB_FLAVOUR", None),)
    assert _warnings(caplog) == [
        "DB_FLAVOUR names no setting and is ignored (see .env.example)."
    ]


@pytest.mark.parametrize(
    ("name", "value", "link"),
    [
        ("DB_SERVICE_HOST", "192.0.2.5", True),
        ("DB_SERVICE_HOST", "2001:db8::5", True),
        ("DB_SERVICE_HOST", "db.example", False),
        ("DB_SERVICE_PORT", "5432", True),
        ("DB_SERVICE_PORT_POSTGRES", "5432", True),
        # A Service named db-service has DB_SERVICE_PORT=tcp://...
        ("DB_SERVICE_PORT", "tcp://192.0.2.5:5432", True),
        ("DB_SERVICE_PORT", "postgres", False),
        ("DB_PORT", "tcp://192.0.2.5:5432", True),
        ("DB_PORT", "tcp://[2001:db8::5]:5432", True),
        ("DB_PORT", "5432", False),
        ("DB_PORT_5432_TCP", "tcp://192.0.2.5:5432", True),
        ("DB_PORT_5432_UDP", "udp://192.0.2.5:5432", True),
        ("DB_PORT_5432_TCP_PROTO", "tcp", True),
        ("DB_PORT_5432_TCP_PORT", "5432", True),
        ("DB_PORT_5432_TCP_ADDR", "192.0.2.5", True),
        ("DB_PORT_5432_TCP_ADDR", "5432", False),
        ("PORT", "tcp://192.0.2.5:3020", False),
        ("DB_POOL_MAX_SIZE", "10", False),
    ],
)
def test_is_service_link(name, value, link):
    assert is_service_link(name, value) is link
