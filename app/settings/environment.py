"""The environment check: variables with one of our prefixes must name a setting."""

from collections.abc import Mapping

from app.settings.base import env_names
from app.settings.groups import (
    ApiSettings,
    DatabaseSettings,
    LogSettings,
    ProviderSettings,
    WorkerSettings,
)
from app.settings.model import Settings
from app.settings.overrides import AlertSettings, LimitSettings, is_override

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

_GROUPS = (
    Settings,
    DatabaseSettings,
    ApiSettings,
    WorkerSettings,
    ProviderSettings,
    LimitSettings,
    AlertSettings,
    LogSettings,
)


class UnknownVariablesError(ValueError):
    """Environment variables with one of our prefixes name no setting."""


def known_variables() -> frozenset[str]:
    """Return every environment name a setting reads."""
    names: set[str] = set(OTHER_KNOWN_VARIABLES)
    for group in _GROUPS:
        for field_name in group.model_fields:
            names.update(env_names(group, field_name))
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
        if name.startswith(OWN_PREFIXES) and name not in known and not is_override(name)
    )
    if unknown:
        raise UnknownVariablesError(
            "unknown setting(s): " + ", ".join(unknown) + " (see .env.example)"
        )
