"""The environment check: misspelt and old variables are reported, nothing refused.

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

The old service's variables (`legacy`) are reported each with one WARNING of
their own, never as unknown: the variable it is read as (a deprecated name), or
why it has no effect here. Messages name variables, never values.
"""

import difflib
import functools
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
from app.settings.legacy import (
    DATABASE_RENAMES,
    NODE_ENV,
    Renamed,
    no_effect_reason,
)
from app.settings.model import Settings
from app.settings.overrides import (
    QUEUE_THRESHOLD_RENAMES,
    RATE_LIMIT_RENAMES,
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


@dataclass(frozen=True)
class OldVariable:
    """A variable of the old queue service: read as one of ours, or without effect here."""

    name: str
    # The variable it is read as; None: it has no effect here.
    replacement: str | None
    message: str


def known_variables() -> frozenset[str]:
    """Return every environment name of ours a setting reads (not the deprecated ones)."""
    names: set[str] = set(OTHER_KNOWN_VARIABLES)
    for group in _GROUPS:
        for field_name in group.model_fields:
            names.update(env_names(group, field_name)[:1])
    return frozenset(names)


@functools.cache
def _renames() -> dict[str, Renamed]:
    # The deprecated names of the fields' aliases, then the old variables whose
    # values change on the way.
    aliases = [
        Renamed(old, names[0])
        for group in _GROUPS
        for field_name in group.model_fields
        for names in (env_names(group, field_name),)
        for old in names[1:]
    ]
    renames = (
        *aliases,
        NODE_ENV,
        *DATABASE_RENAMES,
        *RATE_LIMIT_RENAMES,
        *QUEUE_THRESHOLD_RENAMES,
    )
    return {renamed.old: renamed for renamed in renames}


def _renamed_message(renamed: Renamed, value: str, environ: Mapping[str, str]) -> str:
    old, new = renamed.old, renamed.new
    if environ.get(new):
        return f"{old} is deprecated and ignored: {new} is set and wins."
    if not value:
        return f"{old} is deprecated and empty, so unset; set {new} instead."
    if renamed.convert(value) is None:
        return f"{old} is deprecated and not read: {renamed.refused}."
    return f"{old} is deprecated; it is read as {new}{renamed.how}. Set {new} instead."


def old_variables(environ: Mapping[str, str]) -> tuple[OldVariable, ...]:
    """Return the old service's variables of `environ`, sorted, each with its warning."""
    renames = _renames()
    found = []
    for name, value in sorted(environ.items()):
        if is_service_link(name, value):
            continue
        if name in renames:
            renamed = renames[name]
            message = _renamed_message(renamed, value, environ)
            found.append(OldVariable(name, renamed.new, message))
            continue
        reason = no_effect_reason(name)
        if reason is not None:
            message = f"{name} has no effect here and is ignored: {reason}."
            found.append(OldVariable(name, None, message))
    return tuple(found)


def _is_old(name: str) -> bool:
    return name in _renames() or no_effect_reason(name) is not None


def unknown_variables(environ: Mapping[str, str]) -> tuple[UnknownVariable, ...]:
    """Return the variables of `environ` that look like ours but name no setting, sorted."""
    known = known_variables()
    found = []
    for name, value in sorted(environ.items()):
        if (
            name in known
            or is_override(name)
            or is_service_link(name, value)
            or _is_old(name)
        ):
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=_NEAR)
        if not near and not name.startswith(OWN_PREFIXES):
            continue
        closest = difflib.get_close_matches(
            name, known | override_candidates(name), n=1, cutoff=_CLOSEST
        )
        found.append(UnknownVariable(name, closest[0] if closest else None))
    return tuple(found)


# The messages name the variables: they are written before logging is
# configured, when only the message reaches stderr.
def _warn_old(old: OldVariable) -> None:
    action = "setting_no_effect" if old.replacement is None else "setting_deprecated"
    logger.warning(
        "%s",
        old.message,
        extra={"action": action, "variable": old.name, "replacement": old.replacement},
    )


def _warn_unknown(unknown: UnknownVariable) -> None:
    extra = {
        "action": "setting_unknown",
        "variable": unknown.name,
        "closest": unknown.closest,
    }
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


def check_unknown_variables(
    environ: Mapping[str, str],
) -> tuple[UnknownVariable | OldVariable, ...]:
    """Log a WARNING for each variable that looks like ours but is no setting of ours.

    That is a misspelt one (naming the closest setting) or an old service's
    one (naming the variable it is read as, or why it has no effect). Never
    raises: the process starts, with an unknown variable ignored.

    Returns:
        The variables warned about, sorted by name.
    """
    found: list[UnknownVariable | OldVariable] = sorted(
        (*old_variables(environ), *unknown_variables(environ)),
        key=lambda variable: variable.name,
    )
    for variable in found:
        if isinstance(variable, OldVariable):
            _warn_old(variable)
        else:
            _warn_unknown(variable)
    return tuple(found)
