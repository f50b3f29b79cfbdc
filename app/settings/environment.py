"""The environment check: a misspelt variable of ours is reported, nothing refused.

A variable that names no setting is reported with a WARNING naming the closest
setting when it looks like one of ours: it starts with one of our prefixes, or
it is close to one of our names (JWTSECRET, DATBASE_URL). The process starts
anyway: the platform puts variables of its own in the
environment, and a check that refuses them stops every pod. Never reported:

- Kubernetes service links (`service_links`): QUEUE_SERVICE_API_PORT=tcp://...,
  DB_SERVICE_HOST=192.0.2.5 for a Service named db, and the like;
- the override families RATE_LIMIT_<BUCKET>_<FIELD> and
  ALERT_THRESHOLD_<QUEUE>_<FIELD>;
- variables of ours read by something other than `Settings` (TEST_DATABASE_URL).
"""

import difflib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from app.settings.base import env_names
from app.settings.groups import (
    ApiSettings,
    DatabaseSettings,
    LogSettings,
    ProviderSettings,
    WorkerSettings,
)
from app.settings.model import Settings
from app.settings.overrides import (
    AlertSettings,
    LimitSettings,
    is_override,
    override_candidates,
)
from app.settings.service_links import is_service_link

logger = logging.getLogger("app.settings")

# Prefixes that belong to us: a variable that starts with one of them but names
# no setting is most likely a typo.
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
    "RATE_LIMIT_",
    "ALERT_THRESHOLD_",
    "BREAKER_",
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
# difflib ratios: a name without our prefixes is reported only when it is this
# close to one of ours (JWTSECRET: 0.95; PGPORT against PORT: 0.8, not ours);
# the closest setting is named from this ratio on.
_NEAR = 0.85
_CLOSEST = 0.6


@dataclass(frozen=True)
class UnknownVariable:
    """A variable that looks like a setting of ours but names none."""

    name: str
    closest: str | None


def known_variables() -> frozenset[str]:
    """Return every environment name a setting reads."""
    names: set[str] = set(OTHER_KNOWN_VARIABLES)
    for group in _GROUPS:
        for field_name in group.model_fields:
            names.update(env_names(group, field_name))
    return frozenset(names)


def unknown_variables(environ: Mapping[str, str]) -> tuple[UnknownVariable, ...]:
    """Return the variables of `environ` that look like ours but name no setting, sorted."""
    known = known_variables()
    found = []
    for name, value in sorted(environ.items()):
        if name in known or is_override(name) or is_service_link(name, value):
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=_NEAR)
        if not near and not name.startswith(OWN_PREFIXES):
            continue
        closest = difflib.get_close_matches(
            name, known | override_candidates(name), n=1, cutoff=_CLOSEST
        )
        found.append(UnknownVariable(name, closest[0] if closest else None))
    return tuple(found)


def check_unknown_variables(environ: Mapping[str, str]) -> tuple[UnknownVariable, ...]:
    """Log a WARNING for each variable that looks like ours but names no setting.

    Never raises: the process starts with the variable ignored.

    Returns:
        The variables warned about.
    """
    found = unknown_variables(environ)
    for unknown in found:
        extra = {
            "action": "setting_unknown",
            "variable": unknown.name,
            "closest": unknown.closest,
        }
        # The messages name the variables: they are written before logging is
        # configured, when only the message reaches stderr.
        if unknown.closest is None:
            logger.warning(
                "%s names no setting and is ignored (see .env.example).",
                unknown.name,
                extra=extra,
            )
        else:
            logger.warning(
                "%s names no setting and is ignored; did you mean %s?",
                unknown.name,
                unknown.closest,
                extra=extra,
            )
    return found
