"""An old deployment's environment: each variable of the old service is read or reported.

OLD_DEPLOYMENT and OLD_TEST_SETUP are the environment blocks of the old
service's documentation ("DEPLOYMENT / Environment Variables" and "Test
Setup"), copied as they are: an operator's env file looks like them.
"""

import logging
import re
from collections import Counter

import pytest

from app.settings import (
    OldVariable,
    QueueThresholdOverride,
    RateLimitOverride,
    Settings,
    UnknownVariable,
    check_unknown_variables,
    known_variables,
    load_settings,
    old_variables,
    queue_threshold_overrides,
    rate_limit_overrides,
)
from tests.helpers.kubernetes import Service, ServicePort, service_links

OLD_DEPLOYMENT = """\
# Service Configuration
SERVICE_NAME=queue-service
NODE_ENV=production
PORT=3020  # âš ï¸ Inconsistent with config (3004)

# Database
DATABASE_URL=postgresql://user:pass@localhost:5432/tickettoken_db
DB_HOST=postgres
DB_PORT=5432
DB_NAME=tickettoken_db
DB_USER=postgres
DB_PASSWORD=<secret>

# Redis
REDIS_HOST=redis
REDIS_PORT=6379
REDIS_PASSWORD=<secret>

# Authentication
JWT_SECRET=<256-bit-secret>

# Rate Limits (Optional - defaults in code)
RATE_LIMIT_STRIPE=25
RATE_LIMIT_SENDGRID=5
RATE_LIMIT_TWILIO=1
RATE_LIMIT_SOLANA=10

# Alert Thresholds (Optional)
ALERT_THRESHOLD_MONEY_QUEUE=50
ALERT_THRESHOLD_MONEY_AGE_MINUTES=10
ALERT_THRESHOLD_COMM_QUEUE=5000
ALERT_THRESHOLD_BACKGROUND_QUEUE=50000

# Twilio (Optional - for alerts)
TWILIO_ACCOUNT_SID=<account-sid>
TWILIO_AUTH_TOKEN=<auth-token>
TWILIO_PHONE=<from-number>
ONCALL_PHONE=<oncall-number>

# External Services (Optional - for job processors)
STRIPE_SECRET_KEY=sk_...
SENDGRID_API_KEY=SG...
SOLANA_RPC_URL=https://api.mainnet-beta.solana.com
POLYGON_RPC_URL=https://polygon-rpc.com
"""  # noqa: RUF001 - PORT's comment holds the documentation's own mis-encoded sign

OLD_TEST_SETUP = """\
- NODE_ENV=test
- JWT_SECRET=test-secret
- SERVICE_NAME=queue-service
- PORT=3011
- REDIS_URL=redis://localhost:6379
"""

# Each variable of the blocks that is not one of ours: the variable it is read
# as, or None when it has no effect here.
OLD_NAMES = {
    "SERVICE_NAME": None,
    "NODE_ENV": "QUEUE_ENV",
    "DB_HOST": "DATABASE_URL",
    "DB_PORT": "DATABASE_URL",
    "DB_NAME": "DATABASE_URL",
    "DB_USER": "DATABASE_URL",
    "DB_PASSWORD": "DATABASE_URL",
    "REDIS_HOST": None,
    "REDIS_PORT": None,
    "REDIS_PASSWORD": None,
    "REDIS_URL": None,
    "RATE_LIMIT_STRIPE": "RATE_LIMIT_STRIPE_PER_S",
    "RATE_LIMIT_SENDGRID": "RATE_LIMIT_SENDGRID_PER_S",
    "RATE_LIMIT_TWILIO": "RATE_LIMIT_TWILIO_PER_S",
    "RATE_LIMIT_SOLANA": "RATE_LIMIT_MINTING_PER_S",
    "ALERT_THRESHOLD_MONEY_QUEUE": "ALERT_THRESHOLD_MONEY_MAX_WAITING",
    "ALERT_THRESHOLD_MONEY_AGE_MINUTES": "ALERT_THRESHOLD_MONEY_MAX_OLDEST_AGE_S",
    "ALERT_THRESHOLD_COMM_QUEUE": "ALERT_THRESHOLD_COMMUNICATION_MAX_WAITING",
    "ALERT_THRESHOLD_BACKGROUND_QUEUE": "ALERT_THRESHOLD_BACKGROUND_MAX_WAITING",
    "TWILIO_PHONE": "TWILIO_FROM",
    "SOLANA_RPC_URL": None,
    "POLYGON_RPC_URL": None,
}
# Variables of the blocks that are ours under the same name: read, no warning.
SAME_NAMES = set(
    "PORT DATABASE_URL JWT_SECRET TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN"
    " ONCALL_PHONE STRIPE_SECRET_KEY SENDGRID_API_KEY".split()
)


def environment_of(block: str) -> dict[str, str]:
    """Read a documented block as a shell reads NAME=value lines: `#` starts a comment."""
    env = {}
    for raw in block.splitlines():
        line = raw.strip().removeprefix("- ")
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        env[name] = re.split(r"\s#", value, maxsplit=1)[0].strip()
    return env


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment with none of our variables and none of the old service's."""
    for name in known_variables() | set(OLD_NAMES) | SAME_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _load(
    environment: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    env: dict[str, str],
) -> tuple[Settings, list[logging.LogRecord]]:
    for name, value in env.items():
        environment.setenv(name, value)
    caplog.set_level(logging.WARNING, logger="app.settings")
    settings = load_settings()
    return settings, [r for r in caplog.records if r.name == "app.settings"]


def _assert_one_warning_each(records: list[logging.LogRecord], names: set[str]) -> None:
    assert Counter(r.variable for r in records) == Counter(names)
    for record in records:
        message = record.getMessage()
        replacement = OLD_NAMES[record.variable]
        assert record.replacement == replacement, message
        assert message.startswith(record.variable), message
        if replacement is None:
            assert record.action == "setting_no_effect"
            assert "has no effect here" in message
        else:
            assert record.action == "setting_deprecated"
            assert "deprecated" in message
            assert replacement in message


def test_the_blocks_are_read_as_a_shell_reads_them():
    env = environment_of(OLD_DEPLOYMENT)
    assert env["PORT"] == "3020"
    assert env["DB_PASSWORD"] == "<secret>"  # noqa: S105 - the documentation's placeholder
    assert environment_of(OLD_TEST_SETUP)["REDIS_URL"] == "redis://localhost:6379"
    # Every variable of the blocks is one of ours or an old one this test knows.
    every = set(env) | set(environment_of(OLD_TEST_SETUP))
    assert every == set(OLD_NAMES) | SAME_NAMES
    assert SAME_NAMES <= known_variables()
    assert not set(OLD_NAMES) & known_variables()


def test_the_old_deployment_block_gives_its_values_and_one_warning_each(
    environment, caplog
):
    env = environment_of(OLD_DEPLOYMENT)
    settings, records = _load(environment, caplog, env)

    assert settings.env == "prod"
    assert settings.api.port == 3020
    assert settings.api.jwt_secret.get_secret_value() == "<256-bit-secret>"
    # DATABASE_URL is set too: the new name wins over DB_*.
    assert (
        settings.database.url == "postgresql://user:pass@localhost:5432/tickettoken_db"
    )
    providers = settings.providers
    assert providers.twilio_account_sid == "<account-sid>"
    assert providers.twilio_auth_token is not None
    assert providers.twilio_auth_token.get_secret_value() == "<auth-token>"
    assert providers.twilio_from == "<from-number>"
    assert providers.oncall_phone == "<oncall-number>"
    assert providers.stripe_secret_key is not None
    assert providers.stripe_secret_key.get_secret_value() == "sk_..."
    assert providers.sendgrid_api_key is not None
    assert providers.sendgrid_api_key.get_secret_value() == "SG..."
    assert settings.limits.overrides == (
        RateLimitOverride(bucket="minting", rate_per_s=10),
        RateLimitOverride(bucket="sendgrid", rate_per_s=5),
        RateLimitOverride(bucket="stripe", rate_per_s=25),
        RateLimitOverride(bucket="twilio", rate_per_s=1),
    )
    assert settings.alerts.queue_overrides == (
        QueueThresholdOverride(queue="background", max_waiting=50_000),
        QueueThresholdOverride(queue="communication", max_waiting=5_000),
        # ALERT_THRESHOLD_MONEY_AGE_MINUTES=10: ten minutes, in seconds.
        QueueThresholdOverride(queue="money", max_waiting=50, max_oldest_age_s=600),
    )

    old = {name for name in env if name in OLD_NAMES}
    _assert_one_warning_each(records, old)
    for name in ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"):
        [message] = [r.getMessage() for r in records if r.variable == name]
        assert (
            message
            == f"{name} is deprecated and ignored: DATABASE_URL is set and wins."
        )
    # No value reaches a message: DB_PASSWORD's least of all.
    messages = " ".join(r.getMessage() for r in records)
    assert "<secret>" not in messages
    assert "<from-number>" not in messages


def test_without_database_url_the_db_variables_make_it(environment, caplog):
    env = environment_of(OLD_DEPLOYMENT)
    del env["DATABASE_URL"]
    settings, records = _load(environment, caplog, env)
    # The password is quoted: "<secret>" holds characters a URL does not.
    assert settings.database.url == (
        "postgresql://postgres:%3Csecret%3E@postgres:5432/tickettoken_db"
    )
    _assert_one_warning_each(records, {name for name in env if name in OLD_NAMES})
    [message] = [r.getMessage() for r in records if r.variable == "DB_HOST"]
    assert message == (
        "DB_HOST is deprecated; it is read as DATABASE_URL (composed from DB_HOST,"
        " DB_PORT, DB_NAME, DB_USER and DB_PASSWORD). Set DATABASE_URL instead."
    )


def test_the_old_test_setup_block_gives_its_values_and_one_warning_each(
    environment, caplog
):
    env = environment_of(OLD_TEST_SETUP)
    settings, records = _load(environment, caplog, env)
    assert settings.env == "test"
    assert settings.api.port == 3011
    assert settings.api.jwt_secret.get_secret_value() == "test-secret"
    _assert_one_warning_each(records, {"NODE_ENV", "SERVICE_NAME", "REDIS_URL"})
    [redis] = [r.getMessage() for r in records if r.variable == "REDIS_URL"]
    assert redis == (
        "REDIS_URL has no effect here and is ignored: jobs, schedules, rate limits"
        " and breakers live in PostgreSQL (DATABASE_URL); there is no Redis."
    )


@pytest.mark.parametrize(
    ("old", "value", "new", "new_value"),
    [
        ("TWILIO_PHONE", "+14155550100", "TWILIO_FROM", "+14155550199"),
        ("NODE_ENV", "test", "QUEUE_ENV", "prod"),
        ("DB_HOST", "db.example", "DATABASE_URL", "postgresql://q@new.example/q"),
        ("RATE_LIMIT_STRIPE", "25", "RATE_LIMIT_STRIPE_PER_S", "30"),
        (
            "ALERT_THRESHOLD_MONEY_AGE_MINUTES",
            "10",
            "ALERT_THRESHOLD_MONEY_MAX_OLDEST_AGE_S",
            "120",
        ),
    ],
)
def test_the_new_name_wins_over_the_old_one(
    environment, caplog, old, value, new, new_value
):
    settings, records = _load(environment, caplog, {old: value, new: new_value})
    read = {
        "TWILIO_FROM": settings.providers.twilio_from,
        "QUEUE_ENV": settings.env,
        "DATABASE_URL": settings.database.url,
        "RATE_LIMIT_STRIPE_PER_S": {
            o.bucket: o.rate_per_s for o in settings.limits.overrides
        }.get("stripe"),
        "ALERT_THRESHOLD_MONEY_MAX_OLDEST_AGE_S": {
            q.queue: q.max_oldest_age_s for q in settings.alerts.queue_overrides
        }.get("money"),
    }[new]
    assert str(read).removesuffix(".0") == new_value
    assert [r.getMessage() for r in records] == [
        f"{old} is deprecated and ignored: {new} is set and wins."
    ]


def test_a_renamed_variable_is_read_under_its_new_name(environment, caplog):
    settings, records = _load(environment, caplog, {"TWILIO_PHONE": "+14155550100"})
    assert settings.providers.twilio_from == "+14155550100"
    assert [r.getMessage() for r in records] == [
        "TWILIO_PHONE is deprecated; it is read as TWILIO_FROM. Set TWILIO_FROM instead."
    ]


@pytest.mark.parametrize("value", ["development", "staging"])
def test_node_env_without_an_equivalent_keeps_prod(environment, caplog, value):
    # QUEUE_ENV=dev turns the production checks off: only its own name does that.
    settings, records = _load(environment, caplog, {"NODE_ENV": value})
    assert settings.env == "prod"
    [record] = records
    assert record.replacement == "QUEUE_ENV"
    assert record.getMessage() == (
        "NODE_ENV is deprecated and not read: only production and test have a QUEUE_ENV"
        " equivalent (QUEUE_ENV=dev turns off the production checks and is never"
        " implied); QUEUE_ENV keeps prod."
    )


@pytest.mark.parametrize(
    ("env", "url"),
    [
        (
            {"DB_HOST": "db.example", "DB_USER": "q@ops", "DB_PASSWORD": "p:w/d@%#?"},
            "postgresql://q%40ops:p%3Aw%2Fd%40%25%23%3F@db.example/",
        ),
        (
            {"DB_HOST": "2001:db8::5", "DB_PORT": "6432"},
            "postgresql://[2001:db8::5]:6432/",
        ),
        (
            {"DB_HOST": "/var/run/postgresql", "DB_NAME": "queue db"},
            "postgresql://%2Fvar%2Frun%2Fpostgresql/queue%20db",
        ),
        ({"DB_NAME": "queue"}, "postgresql:///queue"),
    ],
)
def test_the_db_variables_compose_a_url_libpq_reads(environment, caplog, env, url):
    settings, records = _load(environment, caplog, env)
    assert settings.database.url == url
    assert {r.variable for r in records} == set(env)


def test_service_links_of_the_old_namespace_are_neither_read_nor_reported(
    environment, caplog
):
    # The old namespace ran Services named redis, postgres and db: the kubelet
    # gives every pod REDIS_PORT=tcp://..., DB_PORT=tcp://... for them.
    links = {}
    for service in (
        Service("redis", "192.0.2.10", (ServicePort(6379),)),
        Service("redis-service", "192.0.2.11", (ServicePort(6379),)),
        Service("postgres", "192.0.2.12", (ServicePort(5432),)),
        Service("db", "192.0.2.13", (ServicePort(5432),)),
        Service("queue-service", "192.0.2.14", (ServicePort(3020),)),
    ):
        links.update(service_links(service))
    assert "REDIS_PORT" in links and "DB_PORT" in links
    settings, records = _load(environment, caplog, links)
    assert records == []
    assert settings.database.url is None
    assert old_variables(links) == ()


def test_old_variables_are_reported_by_the_environment_check_not_as_unknown():
    env = environment_of(OLD_DEPLOYMENT) | {"JWT_SECRT": "x"}
    found = check_unknown_variables(env)
    assert [v for v in found if isinstance(v, UnknownVariable)] == [
        UnknownVariable("JWT_SECRT", "JWT_SECRET")
    ]
    old = [v for v in found if isinstance(v, OldVariable)]
    assert {v.name: v.replacement for v in old} == {
        name: new for name, new in OLD_NAMES.items() if name in env
    }
    assert [v.name for v in found] == sorted(v.name for v in found)


def test_the_override_families_read_the_old_names():
    assert rate_limit_overrides({"RATE_LIMIT_SOLANA": "10"}) == (
        RateLimitOverride(bucket="minting", rate_per_s=10),
    )
    assert queue_threshold_overrides({"ALERT_THRESHOLD_COMM_QUEUE": "5000"}) == (
        QueueThresholdOverride(queue="communication", max_waiting=5000),
    )
    with pytest.raises(ValueError, match="ALERT_THRESHOLD_MONEY_"):
        queue_threshold_overrides({"ALERT_THRESHOLD_MONEY_AGE_MINUTES": "soon"})
