import logging
from pathlib import Path

import pydantic
import pytest

from app.settings import (
    DEV_JWT_SECRET,
    ApiSettings,
    DatabaseSettings,
    Settings,
    UnknownVariable,
    UnsafeSettingsError,
    check_unknown_variables,
    unknown_variables,
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove variables that would leak into the settings under test."""
    for name in (
        "QUEUE_ENV",
        "JWT_SECRET",
        "JWT_PUBLIC_KEY_FILE",
        "DATABASE_URL",
        "DB_POOL_MIN_SIZE",
        "DB_POOL_MAX_SIZE",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_check_unknown_variables_names_misspelt_variable_with_our_prefix(caplog):
    caplog.set_level(logging.WARNING, logger="app.settings")
    found = check_unknown_variables({"STRIPE_SECRET_KYE": "sk_test", "HOME": "/root"})
    assert found == (UnknownVariable("STRIPE_SECRET_KYE", "STRIPE_SECRET_KEY"),)
    [message] = [r.getMessage() for r in caplog.records]
    assert "STRIPE_SECRET_KYE" in message
    assert "STRIPE_SECRET_KEY" in message
    assert "HOME" not in message


def test_unknown_variables_lists_every_unknown_name_sorted():
    found = unknown_variables({"WORKER_POLL": "1", "DB_POOL_MAX": "3"})
    assert [u.name for u in found] == ["DB_POOL_MAX", "WORKER_POLL"]


def test_check_unknown_variables_ignores_unrelated_variables():
    assert (
        check_unknown_variables(
            {"HOME": "/root", "PATH": "/usr/bin", "LANG": "C.UTF-8"}
        )
        == ()
    )


def test_check_unknown_variables_accepts_known_names():
    assert (
        check_unknown_variables(
            {
                "DATABASE_URL": "postgresql://localhost/q",
                "JWT_SECRET": "s3cret",
                "TWILIO_FROM": "+14155550100",
                "TEST_DATABASE_URL": "postgresql://localhost/t",
                "DB_POOL_MAX_SIZE": "5",
                "QUEUE_ENV": "dev",
                "LOG_LEVEL": "INFO",
            }
        )
        == ()
    )


def test_settings_prod_with_default_jwt_secret_is_unsafe(clean_env):
    settings = Settings(env="prod")
    assert settings.api.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    with pytest.raises(UnsafeSettingsError):
        settings.check_safe()


def test_settings_dev_with_default_jwt_secret_is_safe(clean_env):
    settings = Settings(env="dev")
    assert settings.env == "dev"
    settings.check_safe()


def test_settings_prod_with_real_jwt_secret_is_safe(clean_env):
    secret = "4f9c2b7e1d8a6f3c5b0e9d2a7c4f1b8e"  # noqa: S105 - 32 random-looking bytes
    settings = Settings(env="prod", api=ApiSettings(jwt_secret=secret))
    assert settings.api.jwt_secret.get_secret_value() == secret
    settings.check_safe()


@pytest.mark.parametrize(
    ("secret", "says"),
    [
        ("s3cret-value", "needs at least 32"),
        ("x" * 31, "needs at least 32"),
        ("change-me-to-a-long-random-secret", "placeholder"),
        (DEV_JWT_SECRET, "placeholder"),
    ],
)
def test_settings_prod_refuses_short_and_placeholder_jwt_secrets(
    clean_env, secret, says
):
    settings = Settings(env="prod", api=ApiSettings(jwt_secret=secret))
    with pytest.raises(UnsafeSettingsError, match=says):
        settings.check_safe()


def test_the_shipped_example_secrets_are_refused(clean_env):
    # Whoever copies an example unchanged gets a refusal, not a forgeable service.
    root = Path(__file__).resolve().parents[2]
    examples = {
        line.split("=", 1)[1]
        for line in (root / ".env.example").read_text().splitlines()
        if line.startswith("JWT_SECRET=")
    } | {
        line.split(":", 1)[1].strip()
        for line in (root / "ops/k8s/secret.example.yaml").read_text().splitlines()
        if line.strip().startswith("JWT_SECRET:")
    }
    assert examples
    for secret in examples:
        with pytest.raises(UnsafeSettingsError):
            Settings(env="prod", api=ApiSettings(jwt_secret=secret)).check_safe()


def test_database_settings_read_plain_environment_names(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://user@db.example:5432/queue")
    clean_env.setenv("DB_POOL_MAX_SIZE", "25")
    database = DatabaseSettings()
    assert database.url == "postgresql://user@db.example:5432/queue"
    assert database.pool_max_size == 25
    assert database.pool_min_size == 2


def test_settings_database_group_reads_plain_environment_names(clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://user@db.example:5432/queue")
    clean_env.setenv("DB_POOL_MAX_SIZE", "7")
    settings = Settings(env="dev")
    assert settings.database.url == "postgresql://user@db.example:5432/queue"
    assert settings.database.pool_max_size == 7


@pytest.mark.parametrize("value", ["0", "-3"])
def test_database_settings_non_positive_pool_max_size_is_invalid(clean_env, value):
    clean_env.setenv("DB_POOL_MAX_SIZE", value)
    with pytest.raises(pydantic.ValidationError) as excinfo:
        DatabaseSettings()
    assert [(e["loc"], e["type"]) for e in excinfo.value.errors()] == [
        (("DB_POOL_MAX_SIZE",), "greater_than")
    ]


def test_rate_limit_overrides_group_variables_by_bucket():
    from app.settings import rate_limit_overrides

    (sms,) = rate_limit_overrides(
        {"RATE_LIMIT_TWILIO_SMS_PER_S": "2", "RATE_LIMIT_TWILIO_SMS_BURST": "4"}
    )
    assert (sms.bucket, sms.rate_per_s, sms.burst) == ("twilio-sms", 2.0, 4)


def test_queue_threshold_overrides_name_the_bad_variable():
    import pytest

    from app.settings import queue_threshold_overrides

    with pytest.raises(ValueError, match="ALERT_THRESHOLD_MONEY_"):
        queue_threshold_overrides({"ALERT_THRESHOLD_MONEY_MAX_WAITING": "-1"})


def test_the_dev_secret_signs_tokens_without_a_short_key_warning():
    import warnings

    import jwt

    assert len(DEV_JWT_SECRET.encode()) >= 32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        token = jwt.encode({"sub": "dev"}, DEV_JWT_SECRET, algorithm="HS256")
        assert jwt.decode(token, DEV_JWT_SECRET, algorithms=["HS256"])["sub"] == "dev"
