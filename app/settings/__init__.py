"""Service settings, read from the environment (design §9).

Only entry points call `get_settings()`; everything below them takes values as
arguments, so tests build `Settings(...)` directly instead of patching the
environment.

The package: `base` (what groups share), `groups` (database, API, workers,
providers, logging), `overrides` (limits and alerts, with the RATE_LIMIT_* and
ALERT_THRESHOLD_* families), `model` (`Settings`), `service_links` (the
variables Kubernetes injects), `legacy` (the old service's variables) and
`environment` (the check of unknown and old names).
"""

import functools
import os

from app.settings.environment import (
    OTHER_KNOWN_VARIABLES,
    OWN_PREFIXES,
    OldVariable,
    UnknownVariable,
    check_unknown_variables,
    known_variables,
    old_variables,
    unknown_variables,
)
from app.settings.groups import (
    DEV_JWT_SECRET,
    ApiSettings,
    DatabaseSettings,
    LogSettings,
    ProviderSettings,
    WorkerSettings,
)
from app.settings.model import Settings, UnsafeSettingsError
from app.settings.overrides import (
    AlertSettings,
    LimitSettings,
    QueueThresholdOverride,
    RateLimitOverride,
    queue_threshold_overrides,
    rate_limit_overrides,
)
from app.settings.service_links import has_service_link_name, is_service_link

__all__ = [
    "DEV_JWT_SECRET",
    "OTHER_KNOWN_VARIABLES",
    "OWN_PREFIXES",
    "AlertSettings",
    "ApiSettings",
    "DatabaseSettings",
    "LimitSettings",
    "LogSettings",
    "OldVariable",
    "ProviderSettings",
    "QueueThresholdOverride",
    "RateLimitOverride",
    "Settings",
    "UnknownVariable",
    "UnsafeSettingsError",
    "WorkerSettings",
    "check_unknown_variables",
    "get_settings",
    "has_service_link_name",
    "is_service_link",
    "known_variables",
    "load_settings",
    "old_variables",
    "queue_threshold_overrides",
    "rate_limit_overrides",
    "unknown_variables",
]


def load_settings(*, dev: bool = False) -> Settings:
    """Read the settings; `dev` forces the dev environment.

    Variables that look like ours but name no setting are logged as warnings
    and ignored, and the old service's variables are logged as warnings naming
    what they are read as or why they have no effect (`check_unknown_variables`);
    Kubernetes service links are neither reported nor read as settings. Commands that serve requests also
    call `check_safe()`; the others (migrate, enqueue, worker) use no secret
    that the check guards.
    """
    check_unknown_variables(os.environ)
    return Settings(env="dev") if dev else Settings()


@functools.cache
def get_settings() -> Settings:
    """Read, check and cache the settings of a serving process. Entry points only.

    Raises:
        UnsafeSettingsError: a dev-only default is used outside dev.
    """
    settings = load_settings()
    settings.check_safe()
    return settings
