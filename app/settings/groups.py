"""The plain settings groups: database, API, workers, providers, logging."""

import os
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import (
    Field,
    IPvAnyNetwork,
    PositiveFloat,
    PositiveInt,
    SecretStr,
    field_validator,
)
from pydantic_settings import NoDecode

from app.settings.base import Group, env_alias
from app.settings.legacy import database_url

# As long as a real secret must be (MIN_JWT_SECRET_BYTES), so that signing dev
# tokens draws no short-key warning; refused outside dev all the same.
DEV_JWT_SECRET = "dev-only-secret-change-me-it-signs-dev-tokens-only"  # noqa: S105
# The values the shipped examples (.env.example, ops/k8s/secret.example.yaml)
# carry: whoever copies them unchanged must not get a working service.
PLACEHOLDER_JWT_SECRETS = frozenset(
    {DEV_JWT_SECRET, "change-me-to-a-long-random-secret"}
)
MIN_JWT_SECRET_BYTES = 32


class DatabaseSettings(Group):
    """How to reach PostgreSQL and how our sessions behave."""

    url: str | None = Field(
        # Unset, an old deployment's DB_HOST, DB_PORT... make it.
        default_factory=lambda: database_url(os.environ),
        validation_alias=env_alias("DATABASE_URL"),
        description="PostgreSQL DSN. Unset: `queue-service dev` starts an embedded PostgreSQL.",
    )
    pool_min_size: PositiveInt = Field(
        default=2,
        validation_alias=env_alias("DB_POOL_MIN_SIZE"),
        description="Connections kept open.",
    )
    pool_max_size: PositiveInt = Field(
        default=10,
        validation_alias=env_alias("DB_POOL_MAX_SIZE"),
        description="Most connections.",
    )
    statement_timeout_ms: PositiveInt = Field(
        default=30_000,
        validation_alias=env_alias("DB_STATEMENT_TIMEOUT_MS"),
        description="statement_timeout of every session of ours.",
    )
    idle_in_transaction_timeout_ms: PositiveInt = Field(
        default=60_000,
        validation_alias=env_alias("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"),
        description="idle_in_transaction_session_timeout of every session of ours.",
    )


class ApiSettings(Group):
    """The HTTP API."""

    port: PositiveInt = Field(
        default=3020,
        validation_alias=env_alias("PORT"),
        description="HTTP port of the API.",
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        validation_alias=env_alias("JWT_SECRET"),
        description="HS256 secret of bearer tokens; the default is refused outside dev.",
    )
    jwt_public_key_file: str | None = Field(
        default=None,
        validation_alias=env_alias("JWT_PUBLIC_KEY_FILE"),
        description="PEM public key; when set, RS256 tokens are verified with it.",
    )
    jwt_issuer: str | None = Field(
        default=None,
        validation_alias=env_alias("JWT_ISSUER"),
        description="When set, tokens must carry this `iss` claim.",
    )
    jwt_audience: str | None = Field(
        default=None,
        validation_alias=env_alias("JWT_AUDIENCE"),
        description="When set, tokens must name this audience in `aud`.",
    )
    jwt_max_ttl_s: PositiveInt = Field(
        default=86_400,
        validation_alias=env_alias("JWT_MAX_TTL_S"),
        description="Tokens living longer than this (exp - iat) are refused, as is `queue-service token --ttl` past it.",
    )
    rate_limit_per_minute: int = Field(
        default=600,
        ge=0,
        validation_alias=env_alias("API_RATE_LIMIT_PER_MINUTE"),
        description="Requests per minute per caller (token subject, else address); 0 turns it off.",
    )
    # The old service's endpoint limits, counted beside the global one.
    rate_limit_jobs_per_minute: int = Field(
        default=0,
        ge=0,
        validation_alias=env_alias("API_RATE_LIMIT_JOBS_PER_MINUTE"),
        description="Requests per minute per caller to /jobs; 0: the global limit only.",
    )
    rate_limit_queues_per_minute: int = Field(
        default=0,
        ge=0,
        validation_alias=env_alias("API_RATE_LIMIT_QUEUES_PER_MINUTE"),
        description="Requests per minute per caller to /queues; 0: the global limit only.",
    )
    rate_limit_metrics_per_minute: int = Field(
        default=0,
        ge=0,
        validation_alias=env_alias("API_RATE_LIMIT_METRICS_PER_MINUTE"),
        description="Requests per minute per caller to /metrics/*; 0: the global limit only.",
    )
    db_acquire_timeout_s: PositiveFloat = Field(
        default=2.0,
        validation_alias=env_alias("API_DB_ACQUIRE_TIMEOUT_S"),
        description="How long a request waits for a database connection before it answers 503.",
    )
    statement_timeout_ms: PositiveInt = Field(
        default=5_000,
        validation_alias=env_alias("API_STATEMENT_TIMEOUT_MS"),
        description="statement_timeout of the API's sessions (workers keep DB_STATEMENT_TIMEOUT_MS); past it a request answers 503.",
    )
    lock_timeout_ms: PositiveInt = Field(
        default=2_000,
        validation_alias=env_alias("API_LOCK_TIMEOUT_MS"),
        description="lock_timeout of the API's sessions: a request waits this long for a lock, then answers 503.",
    )
    console_csrf_secret: SecretStr | None = Field(
        default=None,
        validation_alias=env_alias("CONSOLE_CSRF_SECRET"),
        description=(
            "Key of the console's CSRF tokens; unset: derived from JWT_SECRET (set it"
            " when tokens are RS256, so the key is not derived from a public value)."
        ),
    )


class WorkerSettings(Group):
    """Worker processes."""

    poll_interval_s: PositiveFloat = Field(
        default=5.0,
        validation_alias=env_alias("WORKER_POLL_INTERVAL_S"),
        description="Polling backstop; LISTEN/NOTIFY wakes workers first.",
    )
    shutdown_grace_s: PositiveFloat = Field(
        default=30.0,
        validation_alias=env_alias("WORKER_SHUTDOWN_GRACE_S"),
        description="How long running jobs may finish after SIGTERM.",
    )
    heartbeat_s: PositiveFloat = Field(
        default=10.0,
        validation_alias=env_alias("WORKER_HEARTBEAT_S"),
        description="How often each worker records that it is alive.",
    )
    stalled_after_s: PositiveFloat = Field(
        default=30.0,
        validation_alias=env_alias("WORKER_STALLED_AFTER_S"),
        description="A worker silent this long is presumed dead; its running jobs are rescued.",
    )
    rescue_every_s: int = Field(
        default=30,
        ge=1,
        le=60,
        validation_alias=env_alias("WORKER_RESCUE_EVERY_S"),
        description="Period of the stalled-job rescue; must divide 60.",
    )
    claim_lease_s: PositiveFloat = Field(
        default=5.0,
        validation_alias=env_alias("WORKER_CLAIM_LEASE_S"),
        description="A claimed job not started this long goes back to its queue.",
    )
    claim_buffer_s: float = Field(
        default=0.5,
        ge=0,
        le=10,
        validation_alias=env_alias("WORKER_CLAIM_BUFFER_S"),
        description="Work each queue's lane keeps claimed ahead of its slots, in seconds at its measured rate; 0 claims only for free slots.",
    )
    monitor_every_s: int = Field(
        default=30,
        ge=1,
        le=60,
        validation_alias=env_alias("WORKER_MONITOR_EVERY_S"),
        description="Period of the monitor (snapshots, thresholds, alerts); must divide 60.",
    )
    metrics_port: int = Field(
        default=9464,
        ge=0,
        le=65535,
        validation_alias=env_alias("WORKER_METRICS_PORT"),
        description="Prometheus port of a worker process (process i of --processes uses port + i); 0 turns it off.",
    )
    extra_task_modules: str = Field(
        default="",
        validation_alias=env_alias("WORKER_EXTRA_TASK_MODULES"),
        description="Comma-separated modules with a register(app, retry) function adding task types.",
    )
    process_index: int = Field(
        default=0,
        ge=0,
        validation_alias=env_alias("WORKER_PROCESS_INDEX"),
        description="Set by the supervisor for each child of --processes; not for operators.",
    )
    report_dir: str = Field(
        default_factory=lambda: str(
            Path(platformdirs.user_data_dir("queue-service")) / "reports"
        ),
        validation_alias=env_alias("REPORT_DIR"),
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


class ProviderSettings(Group):
    """Credentials and base URLs of outside providers (design §7)."""

    stripe_secret_key: SecretStr | None = Field(
        default=None,
        validation_alias=env_alias("STRIPE_SECRET_KEY"),
        description="Stripe API key.",
    )
    stripe_api_base: str = Field(
        default="https://api.stripe.com",
        validation_alias=env_alias("STRIPE_API_BASE"),
        description="Stripe base URL.",
    )
    sendgrid_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=env_alias("SENDGRID_API_KEY"),
        description="SendGrid API key.",
    )
    sendgrid_api_base: str = Field(
        default="https://api.sendgrid.com",
        validation_alias=env_alias("SENDGRID_API_BASE"),
        description="SendGrid base URL.",
    )
    twilio_account_sid: str | None = Field(
        default=None,
        validation_alias=env_alias("TWILIO_ACCOUNT_SID"),
        description="Twilio account SID.",
    )
    twilio_auth_token: SecretStr | None = Field(
        default=None,
        validation_alias=env_alias("TWILIO_AUTH_TOKEN"),
        description="Twilio auth token.",
    )
    twilio_from: str | None = Field(
        default=None,
        validation_alias=env_alias("TWILIO_FROM", "TWILIO_PHONE"),
        description="Sender number, E.164.",
    )
    twilio_api_base: str = Field(
        default="https://api.twilio.com",
        validation_alias=env_alias("TWILIO_API_BASE"),
        description="Twilio base URL.",
    )
    oncall_phone: str | None = Field(
        default=None,
        validation_alias=env_alias("ONCALL_PHONE"),
        description="On-call phone, E.164.",
    )
    minting_url: str | None = Field(
        default=None,
        validation_alias=env_alias("MINTING_URL"),
        description="Minting service URL.",
    )
    sendgrid_from: str | None = Field(
        default=None,
        validation_alias=env_alias("SENDGRID_FROM"),
        description="Sender address of emails (a verified SendGrid sender).",
    )
    push_url: str | None = Field(
        default=None,
        validation_alias=env_alias("PUSH_URL"),
        description="Push notification service URL.",
    )
    webhook_signing_secret: SecretStr | None = Field(
        default=None,
        validation_alias=env_alias("WEBHOOK_SIGNING_SECRET"),
        description="HMAC-SHA256 key of the X-Webhook-Signature header of webhooks we send.",
    )
    webhook_allowed_networks: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = Field(
        default=(),
        validation_alias=env_alias("WEBHOOK_ALLOWED_NETWORKS"),
        description=(
            "Comma-separated CIDRs that webhook and callback URLs may reach although"
            " they are not public (loopback, private, link-local); empty: public only."
        ),
    )

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        # `127.0.0.0/8, ::1/128` in the environment; a tuple from code.
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    provider_connect_timeout_s: PositiveFloat = Field(
        default=5.0,
        validation_alias=env_alias("PROVIDER_CONNECT_TIMEOUT_S"),
        description="Seconds to open a connection to a provider.",
    )
    provider_timeout_s: PositiveFloat = Field(
        default=20.0,
        validation_alias=env_alias("PROVIDER_TIMEOUT_S"),
        description="Seconds to wait for a provider's answer (read timeout).",
    )
    stripe_webhook_secret: SecretStr | None = Field(
        default=None,
        validation_alias=env_alias("STRIPE_WEBHOOK_SECRET"),
        description=(
            "Signing secret (whsec_...) of the Stripe webhook endpoint that POSTs to"
            " /api/v1/queue/webhooks/stripe; unset: that endpoint refuses every event."
        ),
    )


class LogSettings(Group):
    """Logs and metrics."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        validation_alias=env_alias("LOG_LEVEL"),
        description="Root log level.",
    )
    format: Literal["json", "text"] | None = Field(
        default=None,
        validation_alias=env_alias("LOG_FORMAT"),
        description="json or text; default json outside dev and text in dev.",
    )
    metrics_report_s: PositiveFloat = Field(
        default=5.0,
        le=300,
        validation_alias=env_alias("METRICS_REPORT_S"),
        description=(
            "How often every process adds what its old counters rose by to the sums"
            " the API's old scrape path serves."
        ),
    )
