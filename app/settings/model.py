"""`Settings`: every group nested, and the check of dev-only defaults."""

from typing import Literal

from pydantic import Field

from app.settings.base import Group, env_alias
from app.settings.groups import (
    DEV_JWT_SECRET,
    ApiSettings,
    DatabaseSettings,
    LogSettings,
    ProviderSettings,
    WorkerSettings,
)
from app.settings.overrides import AlertSettings, LimitSettings


class UnsafeSettingsError(ValueError):
    """A setting has a value that is only safe in the dev environment."""


class Settings(Group):
    """All settings, grouped. Environment names are the plain ones of design §9."""

    env: Literal["dev", "test", "prod"] = Field(
        default="prod",
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
