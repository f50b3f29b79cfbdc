"""`Settings`: every group nested, and the check of dev-only defaults."""

import os
from typing import Literal

from pydantic import Field

from app.settings.base import Group, env_alias
from app.settings.groups import (
    MIN_JWT_SECRET_BYTES,
    PLACEHOLDER_JWT_SECRETS,
    ApiSettings,
    DatabaseSettings,
    LogSettings,
    ProviderSettings,
    WorkerSettings,
)
from app.settings.legacy import queue_env
from app.settings.overrides import AlertSettings, LimitSettings


class UnsafeSettingsError(ValueError):
    """A setting has a value that is only safe in the dev environment."""


class Settings(Group):
    """All settings, grouped. Environment names are the plain ones of design §9."""

    env: Literal["dev", "test", "prod"] = Field(
        # prod, or an old deployment's NODE_ENV=test.
        default_factory=lambda: queue_env(os.environ),
        validation_alias=env_alias("QUEUE_ENV"),
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
        """Refuse secrets that are only safe in dev.

        Raises:
            UnsafeSettingsError: outside dev, when tokens are HS256 and
                JWT_SECRET is a placeholder of the shipped examples (or the dev
                default) or shorter than MIN_JWT_SECRET_BYTES.
        """
        if self.env == "dev" or self.api.jwt_public_key_file is not None:
            return
        secret = self.api.jwt_secret.get_secret_value()
        if secret in PLACEHOLDER_JWT_SECRETS:
            raise UnsafeSettingsError(
                "JWT_SECRET is a placeholder of the shipped examples (or the dev-only "
                "default); set a random one (openssl rand -hex 32) or JWT_PUBLIC_KEY_FILE, "
                "or QUEUE_ENV=dev for local use"
            )
        if len(secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise UnsafeSettingsError(
                f"JWT_SECRET is {len(secret.encode())} bytes; HS256 needs at least "
                f"{MIN_JWT_SECRET_BYTES} (openssl rand -hex 32), or use JWT_PUBLIC_KEY_FILE"
            )
