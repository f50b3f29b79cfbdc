"""Service settings, read from the environment (design §9).

Only entry points call `get_settings()`; everything below them takes values as
arguments, so tests build `Settings(...)` directly instead of patching the
environment.
"""

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar

import platformdirs
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside dev

# Prefixes that belong to us: a variable that starts with one of them but names
# no setting is a typo, and a typo must not pass silently (style.md §6).
OWN_PREFIXES = (
    "QUEUE_",
    "DATABASE_",
    "DB_",
    "JWT_",
    "WORKER_",
    "LOG_",
    "STRIPE_",
    "SENDGRID_",
    "TWILIO_",
    "MINTING_",
    "ONCALL_",
    "REPORT_",
    "API_",
    "PUSH_",
    "WEBHOOK_",
    "PROVIDER_",
)
# Variables of ours read by something other than Settings.
OTHER_KNOWN_VARIABLES = frozenset({"TEST_DATABASE_URL"})


class UnsafeSettingsError(ValueError):
    """A setting has a value that is only safe in the dev environment."""


class UnknownVariablesError(ValueError):
    """Environment variables with one of our prefixes name no setting."""


def _env(name: str) -> AliasChoices:
    # Accept the environment name and the field name, so tests and callers
    # can build settings with keyword arguments.
    return AliasChoices(name, name.lower())


class _Group(BaseSettings):
    # An empty variable counts as unset: `STRIPE_SECRET_KEY=` in an env file must
    # not configure Stripe with an empty key.
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, env_ignore_empty=True
    )


class DatabaseSettings(_Group):
    """How to reach PostgreSQL and how our sessions behave."""

    url: str | None = Field(
        default=None,
        validation_alias=_env("DATABASE_URL"),
        description="PostgreSQL DSN. Unset: `queue-service dev` starts an embedded PostgreSQL.",
    )
    pool_min_size: PositiveInt = Field(
        default=2,
        validation_alias=_env("DB_POOL_MIN_SIZE"),
        description="Connections kept open.",
    )
    pool_max_size: PositiveInt = Field(
        default=10,
        validation_alias=_env("DB_POOL_MAX_SIZE"),
        description="Most connections.",
    )
    statement_timeout_ms: PositiveInt = Field(
        default=30_000,
        validation_alias=_env("DB_STATEMENT_TIMEOUT_MS"),
        description="statement_timeout of every session of ours.",
    )
    idle_in_transaction_timeout_ms: PositiveInt = Field(
        default=60_000,
        validation_alias=_env("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"),
        description="idle_in_transaction_session_timeout of every session of ours.",
    )


class ApiSettings(_Group):
    """The HTTP API."""

    port: PositiveInt = Field(
        default=3020, validation_alias=_env("PORT"), description="HTTP port of the API."
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        validation_alias=_env("JWT_SECRET"),
        description="HS256 secret of bearer tokens; the default is refused outside dev.",
    )
    jwt_public_key_file: str | None = Field(
        default=None,
        validation_alias=_env("JWT_PUBLIC_KEY_FILE"),
        description="PEM public key; when set, RS256 tokens are verified with it.",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        validation_alias=_env("API_RATE_LIMIT_PER_MINUTE"),
        description="Requests per minute per caller (token subject, else address); 0 turns it off.",
    )


class WorkerSettings(_Group):
    """Worker processes."""

    poll_interval_s: PositiveFloat = Field(
        default=5.0,
        validation_alias=_env("WORKER_POLL_INTERVAL_S"),
        description="Polling backstop; LISTEN/NOTIFY wakes workers first.",
    )
    shutdown_grace_s: PositiveFloat = Field(
        default=30.0,
        validation_alias=_env("WORKER_SHUTDOWN_GRACE_S"),
        description="How long running jobs may finish after SIGTERM.",
    )
    heartbeat_s: PositiveFloat = Field(
        default=10.0,
        validation_alias=_env("WORKER_HEARTBEAT_S"),
        description="How often each worker records that it is alive.",
    )
    stalled_after_s: PositiveFloat = Field(
        default=30.0,
        validation_alias=_env("WORKER_STALLED_AFTER_S"),
        description="A worker silent this long is presumed dead; its running jobs are rescued.",
    )
    rescue_every_s: int = Field(
        default=30,
        ge=1,
        le=60,
        validation_alias=_env("WORKER_RESCUE_EVERY_S"),
        description="Period of the stalled-job rescue; must divide 60.",
    )
    monitor_every_s: int = Field(
        default=30,
        ge=1,
        le=60,
        validation_alias=_env("WORKER_MONITOR_EVERY_S"),
        description="Period of the monitor (snapshots, thresholds, alerts); must divide 60.",
    )
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        validation_alias=_env("WORKER_METRICS_PORT"),
        description="Prometheus port of a worker process (process i of --processes uses port + i); 0 turns it off.",
    )
    extra_task_modules: str = Field(
        default="",
        validation_alias=_env("WORKER_EXTRA_TASK_MODULES"),
        description="Comma-separated modules with a register(app, retry) function adding task types.",
    )
    process_index: int = Field(
        default=0,
        ge=0,
        validation_alias=_env("WORKER_PROCESS_INDEX"),
        description="Set by the supervisor for each child of --processes; not for operators.",
    )
    report_dir: str = Field(
        default_factory=lambda: str(
            Path(platformdirs.user_data_dir("queue-service")) / "reports"
        ),
        validation_alias=_env("REPORT_DIR"),
        description="Where generate-report writes its files.",
    )

    @field_validator("rescue_every_s", "monitor_every_s")
    @classmethod
    def _divides_a_minute(cls, value: int) -> int:
        if 60 % value:
            raise ValueError(
                "must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)"
            )
        return value


class ProviderSettings(_Group):
    """Credentials and base URLs of outside providers (design §7)."""

    stripe_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("STRIPE_SECRET_KEY"),
        description="Stripe API key.",
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com",
        validation_alias=_env("STRIPE_API_BASE"),
        description="Stripe base URL.",
    )
    sendgrid_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=_env("SENDGRID_API_KEY"),
        description="SendGrid API key.",
    )
    sendgrid_api_base: str = Field(
        default="https://api.sendgrid.com",
        validation_alias=_env("SENDGRID_API_BASE"),
        description="SendGrid base URL.",
    )
    twilio_account_sid: str | None = Field(
        default=None,
        validation_alias=_env("TWILIO_ACCOUNT_SID"),
        description="Twilio account SID.",
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None,
        validation_alias=_env("TWILIO_AUTH_TOKEN"),
        description="Twilio auth token.",
    )
    twilio_from: str | None = Field(
        default=None,
        validation_alias=_env("TWILIO_FROM"),
        description="Sender number, E.164.",
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com",
        validation_alias=_env("TWILIO_API_BASE"),
        description="Twilio base URL.",
    )
    oncall_phone: str | None = Field(
        default=None,
        validation_alias=_env("ONCALL_PHONE"),
        description="On-call phone, E.164.",
    )
    minting_url: str | None = Field(
        default=None,
        validation_alias=_env("MINTING_URL"),
        description="Minting service URL.",
    )
    sendgrid_from: str | None = Field(
        default=None,
        validation_alias=_env("SENDGRID_FROM"),
        description="Sender address of emails (a verified SendGrid sender).",
    )
    push_url: str | None = Field(
        default=None,
        validation_alias=_env("PUSH_URL"),
        description="Push notification service URL.",
    )
    webhook_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=_env("WEBHOOK_SIGNING_SECRET"),
        description="HMAC-SHA256 key of the X-Webhook-Signature header of webhooks we send.",
    )
    provider_connect_timeout_s: PositiveFloat = Field(
        default=5.0,
        validation_alias=_env("PROVIDER_CONNECT_TIMEOUT_S"),
        description="Seconds to open a connection to a provider.",
    )
    provider_timeout_s: PositiveFloat = Field(
        default=20.0,
        validation_alias=_env("PROVIDER_TIMEOUT_S"),
        description="Seconds to wait for a provider's answer (read timeout).",
    )


_Override = TypeVar("_Override", bound=BaseModel)


def _named_overrides(
    environ: Mapping[str, str],
    pattern: re.Pattern[str],
    model: type[_Override],
    *,
    prefix: str,
    key: str,
    renames: Mapping[str, str] | None = None,
) -> tuple[_Override, ...]:
    """Collect `<PREFIX><NAME>_<FIELD>` variables into one model per name.

    NAME is upper-cased with "-" as "_" (twilio-sms: TWILIO_SMS); FIELD becomes
    the lower-cased field name unless `renames` maps it.

    Raises:
        ValueError: a value the model refuses (naming the variables).
    """
    fields: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        match = pattern.match(name)
        if match:
            target = match.group(1).lower().replace("_", "-")
            field = (renames or {}).get(match.group(2), match.group(2).lower())
            fields.setdefault(target, {})[field] = value
    overrides = []
    for target, values in sorted(fields.items()):
        try:
            overrides.append(model.model_validate({key: target, **values}))
        except ValidationError as exc:
            raise ValueError(
                f"{prefix}{target.upper().replace('-', '_')}_*: {exc.errors()[0]['msg']}"
            ) from exc
    return tuple(overrides)


# RATE_LIMIT_<BUCKET>_<FIELD>: a deployment's override of a provider bucket;
# the bucket's name upper-cased with "-" as "_" (RATE_LIMIT_TWILIO_SMS_PER_S).
_RATE_LIMIT_OVERRIDE = re.compile(
    r"^RATE_LIMIT_([A-Z0-9_]+?)_(PER_S|BURST|MAX_CONCURRENT|COOLDOWN_S)$"
)


class RateLimitOverride(BaseModel):
    """One bucket's limits as the environment overrides them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    rate_per_s: PositiveFloat | None = None
    burst: PositiveInt | None = None
    max_concurrent: PositiveInt | None = None
    cooldown_s: NonNegativeFloat | None = None


def rate_limit_overrides(environ: Mapping[str, str]) -> tuple[RateLimitOverride, ...]:
    """Return the bucket overrides named by RATE_LIMIT_<BUCKET>_<FIELD> variables.

    Raises:
        ValueError: a value is not a positive number (naming the variable).
    """
    return _named_overrides(
        environ,
        _RATE_LIMIT_OVERRIDE,
        RateLimitOverride,
        prefix="RATE_LIMIT_",
        key="bucket",
        renames={"PER_S": "rate_per_s"},
    )


class LimitSettings(_Group):
    """Provider rate limits and circuit breakers (design §7); the tables hold the rest."""

    rate_limit_max_wait_s: NonNegativeFloat = Field(
        default=2.0,
        validation_alias=_env("RATE_LIMIT_MAX_WAIT_S"),
        description="A job waits this long in its worker for a token; longer waits reschedule it.",
    )
    provider_lease_s: PositiveFloat = Field(
        default=120.0,
        validation_alias=_env("PROVIDER_LEASE_S"),
        description="A provider call's concurrency slot expires after this (a killed worker frees it).",
    )
    breaker_failure_threshold: PositiveInt | None = Field(
        default=None,
        validation_alias=_env("BREAKER_FAILURE_THRESHOLD"),
        description="Provider failures in a row that open its breaker; unset keeps the table's (5).",
    )
    breaker_open_s: PositiveFloat | None = Field(
        default=None,
        validation_alias=_env("BREAKER_OPEN_S"),
        description="How long an open breaker refuses calls before a probe; unset keeps the table's (30).",
    )
    overrides: tuple[RateLimitOverride, ...] = Field(
        default_factory=lambda: rate_limit_overrides(os.environ),
        description="RATE_LIMIT_<BUCKET>_PER_S|BURST|MAX_CONCURRENT|COOLDOWN_S, applied when a worker starts.",
    )


# ALERT_THRESHOLD_<QUEUE>_<FIELD>: a deployment's override of a queue's alert
# thresholds (ALERT_THRESHOLD_MONEY_MAX_WAITING=20).
_QUEUE_THRESHOLD_OVERRIDE = re.compile(
    r"^ALERT_THRESHOLD_([A-Z0-9_]+?)_(MAX_WAITING|MAX_OLDEST_AGE_S|MAX_FAILED_PER_HOUR)$"
)


class QueueThresholdOverride(BaseModel):
    """One queue's alert thresholds as the environment overrides them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str
    max_waiting: PositiveInt | None = None
    max_oldest_age_s: PositiveFloat | None = None
    max_failed_per_hour: PositiveInt | None = None


def queue_threshold_overrides(
    environ: Mapping[str, str],
) -> tuple[QueueThresholdOverride, ...]:
    """Return the queue thresholds named by ALERT_THRESHOLD_<QUEUE>_<FIELD> variables.

    Raises:
        ValueError: a value is not a positive number (naming the variable).
    """
    return _named_overrides(
        environ,
        _QUEUE_THRESHOLD_OVERRIDE,
        QueueThresholdOverride,
        prefix="ALERT_THRESHOLD_",
        key="queue",
    )


class AlertSettings(_Group):
    """The monitor's thresholds and where it pages (design §8)."""

    max_dead_tuples: PositiveInt = Field(
        default=1_000_000,
        validation_alias=_env("ALERT_THRESHOLD_DEAD_TUPLES"),
        description="Dead tuples of procrastinate_jobs past which the monitor warns.",
    )
    max_vacuum_age_s: PositiveFloat = Field(
        default=86_400.0,
        validation_alias=_env("ALERT_THRESHOLD_VACUUM_AGE_S"),
        description="Unvacuumed this long with a tenth of the dead-tuple threshold: the monitor warns.",
    )
    max_transaction_age_s: PositiveFloat = Field(
        default=300.0,
        validation_alias=_env("ALERT_THRESHOLD_TRANSACTION_AGE_S"),
        description="An open transaction older than this warns (six times older: critical).",
    )
    queue_overrides: tuple[QueueThresholdOverride, ...] = Field(
        default_factory=lambda: queue_threshold_overrides(os.environ),
        description="ALERT_THRESHOLD_<QUEUE>_MAX_WAITING|MAX_OLDEST_AGE_S|MAX_FAILED_PER_HOUR, applied when a worker starts.",
    )


class LogSettings(_Group):
    """Logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        validation_alias=_env("LOG_LEVEL"),
        description="Root log level.",
    )
    format: Literal["json", "text"] | None = Field(
        default=None,
        validation_alias=_env("LOG_FORMAT"),
        description="json or text; default json outside dev and text in dev.",
    )


class Settings(_Group):
    """All settings, grouped. Environment names are the plain ones of design §9."""

    env: Literal["dev", "test", "prod"] = Field(
        default="prod",
        validation_alias=_env("QUEUE_ENV"),
        description="dev allows the unsafe defaults (dev JWT secret).",
    )
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: ApiSettings = Field(default_factory=ApiSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    providers: ProviderSettings = Field(default_factory=ProviderSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    def check_safe(self) -> None:
        """Refuse defaults that are only safe in dev.

        Raises:
            UnsafeSettingsError: outside dev, when the dev JWT secret is in use.
        """
        if (
            self.env != "dev"
            and self.api.jwt_secret.get_secret_value() == DEV_JWT_SECRET
        ):
            if self.api.jwt_public_key_file is None:
                raise UnsafeSettingsError(
                    "JWT_SECRET is the dev-only default; set JWT_SECRET or "
                    "JWT_PUBLIC_KEY_FILE, or QUEUE_ENV=dev for local use"
                )


def known_variables() -> frozenset[str]:
    """Return every environment name a setting reads."""
    names: set[str] = set(OTHER_KNOWN_VARIABLES)
    groups: list[type[_Group]] = [
        Settings,
        DatabaseSettings,
        ApiSettings,
        WorkerSettings,
        ProviderSettings,
        LimitSettings,
        AlertSettings,
        LogSettings,
    ]
    for group in groups:
        for field in group.model_fields.values():
            if isinstance(field.validation_alias, AliasChoices):
                names.update(
                    choice
                    for choice in field.validation_alias.choices
                    if isinstance(choice, str) and choice.isupper()
                )
    return frozenset(names)


def check_unknown_variables(environ: Mapping[str, str]) -> None:
    """Fail on variables that look like ours but name no setting.

    Raises:
        UnknownVariablesError: listing each unknown name.
    """
    known = known_variables()
    unknown = sorted(
        name
        for name in environ
        if name.startswith(OWN_PREFIXES)
        and name not in known
        and not _RATE_LIMIT_OVERRIDE.match(name)
        and not _QUEUE_THRESHOLD_OVERRIDE.match(name)
    )
    if unknown:
        raise UnknownVariablesError(
            "unknown setting(s): " + ", ".join(unknown) + " (see .env.example)"
        )


def load_settings(*, dev: bool = False) -> Settings:
    """Read the settings; `dev` forces the dev environment.

    Commands that serve requests also call `check_safe()`; the others (migrate,
    enqueue, worker) use no secret that the check guards.

    Raises:
        UnknownVariablesError: a variable of ours names no setting.
    """
    check_unknown_variables(os.environ)
    return Settings(env="dev") if dev else Settings()


@functools.cache
def get_settings() -> Settings:
    """Read, check and cache the settings of a serving process. Entry points only.

    Raises:
        UnknownVariablesError: a variable of ours names no setting.
        UnsafeSettingsError: a dev-only default is used outside dev.
    """
    settings = load_settings()
    settings.check_safe()
    return settings
