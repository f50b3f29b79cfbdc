"""Limits and alerts: the groups with RATE_LIMIT_* and ALERT_THRESHOLD_* families.

RATE_LIMIT_<BUCKET>_<FIELD> and ALERT_THRESHOLD_<QUEUE>_<FIELD>: a deployment
overrides a provider bucket's limits or a queue's alert thresholds with one
variable per field; the variables of one bucket or queue become one model.
These names are no field's, so the environment check asks `is_override` before
calling a name unknown.

The old service's one variable per provider or queue (RATE_LIMIT_STRIPE,
ALERT_THRESHOLD_MONEY_QUEUE) is read as the family variable it meant
(`RATE_LIMIT_RENAMES`, `QUEUE_THRESHOLD_RENAMES`); the family name wins.
"""

import os
import re
from collections.abc import Mapping
from typing import TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    ValidationError,
)

from app.settings.base import Group, env_alias
from app.settings.legacy import Renamed, with_old_names

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
RATE_LIMIT_FIELDS = ("PER_S", "BURST", "MAX_CONCURRENT", "COOLDOWN_S")
_RATE_LIMIT_OVERRIDE = re.compile(
    rf"^RATE_LIMIT_([A-Z0-9_]+?)_({'|'.join(RATE_LIMIT_FIELDS)})$"
)


class RateLimitOverride(BaseModel):
    """One bucket's limits as the environment overrides them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bucket: str
    rate_per_s: PositiveFloat | None = None
    burst: PositiveInt | None = None
    max_concurrent: PositiveInt | None = None
    cooldown_s: NonNegativeFloat | None = None


# The old service's RATE_LIMIT_<PROVIDER>: that provider's calls per second.
RATE_LIMIT_RENAMES = (
    Renamed("RATE_LIMIT_STRIPE", "RATE_LIMIT_STRIPE_PER_S"),
    Renamed("RATE_LIMIT_SENDGRID", "RATE_LIMIT_SENDGRID_PER_S"),
    Renamed(
        "RATE_LIMIT_TWILIO",
        "RATE_LIMIT_TWILIO_PER_S",
        how=" (the twilio group, shared by SMS and voice as before)",
    ),
    # The old Solana RPC bucket (10/s, burst 30, 5 at once) limited NFT mints;
    # the minting bucket took its limits and its job type.
    Renamed(
        "RATE_LIMIT_SOLANA",
        "RATE_LIMIT_MINTING_PER_S",
        how=" (the minting bucket of nft-mint, which replaced the Solana RPC's)",
    ),
)


def rate_limit_overrides(environ: Mapping[str, str]) -> tuple[RateLimitOverride, ...]:
    """Return the bucket overrides named by RATE_LIMIT_<BUCKET>_<FIELD> variables.

    The old service's RATE_LIMIT_<PROVIDER> count as RATE_LIMIT_<BUCKET>_PER_S.

    Raises:
        ValueError: a value is not a positive number (naming the variable).
    """
    return _named_overrides(
        with_old_names(environ, RATE_LIMIT_RENAMES),
        _RATE_LIMIT_OVERRIDE,
        RateLimitOverride,
        prefix="RATE_LIMIT_",
        key="bucket",
        renames={"PER_S": "rate_per_s"},
    )


# ALERT_THRESHOLD_<QUEUE>_<FIELD>: a deployment's override of a queue's alert
# thresholds (ALERT_THRESHOLD_MONEY_MAX_WAITING=20).
QUEUE_THRESHOLD_FIELDS = ("MAX_WAITING", "MAX_OLDEST_AGE_S", "MAX_FAILED_PER_HOUR")
_QUEUE_THRESHOLD_OVERRIDE = re.compile(
    rf"^ALERT_THRESHOLD_([A-Z0-9_]+?)_({'|'.join(QUEUE_THRESHOLD_FIELDS)})$"
)


class QueueThresholdOverride(BaseModel):
    """One queue's alert thresholds as the environment overrides them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue: str
    max_waiting: PositiveInt | None = None
    max_oldest_age_s: PositiveFloat | None = None
    max_failed_per_hour: PositiveInt | None = None


def _minutes_to_seconds(value: str) -> str:
    try:
        return str(float(value) * 60)
    except ValueError:
        # Left as it is, for the model to refuse naming the variables.
        return value


# The old service's per-queue depth and (money only) job age in minutes.
QUEUE_THRESHOLD_RENAMES = (
    Renamed("ALERT_THRESHOLD_MONEY_QUEUE", "ALERT_THRESHOLD_MONEY_MAX_WAITING"),
    Renamed(
        "ALERT_THRESHOLD_MONEY_AGE_MINUTES",
        "ALERT_THRESHOLD_MONEY_MAX_OLDEST_AGE_S",
        how=" (minutes x 60)",
        convert=_minutes_to_seconds,
    ),
    Renamed("ALERT_THRESHOLD_COMM_QUEUE", "ALERT_THRESHOLD_COMMUNICATION_MAX_WAITING"),
    Renamed(
        "ALERT_THRESHOLD_BACKGROUND_QUEUE", "ALERT_THRESHOLD_BACKGROUND_MAX_WAITING"
    ),
)


def queue_threshold_overrides(
    environ: Mapping[str, str],
) -> tuple[QueueThresholdOverride, ...]:
    """Return the queue thresholds named by ALERT_THRESHOLD_<QUEUE>_<FIELD> variables.

    The old service's ALERT_THRESHOLD_<QUEUE>_QUEUE and _AGE_MINUTES count as
    ALERT_THRESHOLD_<QUEUE>_MAX_WAITING and _MAX_OLDEST_AGE_S.

    Raises:
        ValueError: a value is not a positive number (naming the variable).
    """
    return _named_overrides(
        with_old_names(environ, QUEUE_THRESHOLD_RENAMES),
        _QUEUE_THRESHOLD_OVERRIDE,
        QueueThresholdOverride,
        prefix="ALERT_THRESHOLD_",
        key="queue",
    )


class LimitSettings(Group):
    """Provider rate limits and circuit breakers (design §7); the tables hold the rest."""

    rate_limit_max_wait_s: NonNegativeFloat = Field(
        default=2.0,
        validation_alias=env_alias("RATE_LIMIT_MAX_WAIT_S"),
        description="A job waits this long in its worker for a token; longer waits reschedule it.",
    )
    provider_lease_s: PositiveFloat = Field(
        default=120.0,
        validation_alias=env_alias("PROVIDER_LEASE_S"),
        description="A provider call's concurrency slot expires after this (a killed worker frees it).",
    )
    breaker_failure_threshold: PositiveInt | None = Field(
        default=None,
        validation_alias=env_alias("BREAKER_FAILURE_THRESHOLD"),
        description="Provider failures in a row that open its breaker; unset keeps the table's (5).",
    )
    breaker_open_s: PositiveFloat | None = Field(
        default=None,
        validation_alias=env_alias("BREAKER_OPEN_S"),
        description="How long an open breaker refuses calls before a probe; unset keeps the table's (30).",
    )
    overrides: tuple[RateLimitOverride, ...] = Field(
        default_factory=lambda: rate_limit_overrides(os.environ),
        description="RATE_LIMIT_<BUCKET>_PER_S|BURST|MAX_CONCURRENT|COOLDOWN_S, applied when a worker starts.",
    )


class AlertSettings(Group):
    """The monitor's thresholds and where it pages (design §8)."""

    max_dead_tuples: PositiveInt = Field(
        default=1_000_000,
        validation_alias=env_alias("ALERT_THRESHOLD_DEAD_TUPLES"),
        description="Dead tuples of procrastinate_jobs past which the monitor warns.",
    )
    max_vacuum_age_s: PositiveFloat = Field(
        default=86_400.0,
        validation_alias=env_alias("ALERT_THRESHOLD_VACUUM_AGE_S"),
        description="Unvacuumed this long with a tenth of the dead-tuple threshold: the monitor warns.",
    )
    max_transaction_age_s: PositiveFloat = Field(
        default=300.0,
        validation_alias=env_alias("ALERT_THRESHOLD_TRANSACTION_AGE_S"),
        description="An open transaction older than this warns (six times older: critical).",
    )
    queue_overrides: tuple[QueueThresholdOverride, ...] = Field(
        default_factory=lambda: queue_threshold_overrides(os.environ),
        description="ALERT_THRESHOLD_<QUEUE>_MAX_WAITING|MAX_OLDEST_AGE_S|MAX_FAILED_PER_HOUR, applied when a worker starts.",
    )


_FAMILIES = (
    ("RATE_LIMIT_", RATE_LIMIT_FIELDS),
    ("ALERT_THRESHOLD_", QUEUE_THRESHOLD_FIELDS),
)


def is_override(name: str) -> bool:
    """Tell whether `name` is a variable of one of the override families."""
    return bool(
        _RATE_LIMIT_OVERRIDE.match(name) or _QUEUE_THRESHOLD_OVERRIDE.match(name)
    )


def override_candidates(name: str) -> frozenset[str]:
    """Return the family variables a misspelt `name` may have meant.

    RATE_LIMIT_TWILIO_SMS_PER_SEC gives RATE_LIMIT_TWILIO_SMS_PER_S among
    others: the name's last one or two words replaced by each field of its
    family. Empty for a name outside the families.
    """
    candidates: set[str] = set()
    for prefix, fields in _FAMILIES:
        if name.startswith(prefix):
            words = name.removeprefix(prefix).split("_")
            for kept in (words[:-1], words[:-2]):
                if kept:
                    stem = prefix + "_".join(kept)
                    candidates.update(f"{stem}_{field}" for field in fields)
    return frozenset(candidates)
