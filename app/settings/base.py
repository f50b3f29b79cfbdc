"""What every settings group shares: environment names, empty values, service links."""

import logging
from typing import Any

from pydantic import AliasChoices, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.settings.service_links import is_service_link

logger = logging.getLogger("app.settings")


def env_alias(name: str, *deprecated: str) -> AliasChoices:
    """Read a field from the environment name `name`, or its lower-cased field name.

    Both are accepted so tests and callers can build settings with keyword
    arguments. `deprecated` are the old service's names of the same setting
    (`legacy`): read when `name` is unset, since the first name set wins; the
    environment check warns about each one that is set.
    """
    return AliasChoices(name, *deprecated, name.lower())


def env_names(group: type[BaseSettings], field_name: str) -> tuple[str, ...]:
    """Return the environment names one field of `group` reads: ours, then deprecated ones."""
    alias = group.model_fields[field_name].validation_alias
    if not isinstance(alias, AliasChoices):
        return ()
    return tuple(
        choice
        for choice in alias.choices
        if isinstance(choice, str) and choice.isupper()
    )


class Group(BaseSettings):
    """A group of settings read from the environment."""

    # An empty variable counts as unset: `STRIPE_SECRET_KEY=` in an env file must
    # not configure Stripe with an empty key.
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    @field_validator("*", mode="before")
    @classmethod
    def _not_a_service_link(cls, value: Any, info: ValidationInfo) -> Any:
        # A setting whose name Kubernetes could inject too (WORKER_METRICS_PORT,
        # for a Service named worker-metrics) may hold tcp://192.0.2.7:9464: the
        # platform's value, since an operator's own value would win over it.
        # It counts as unset rather than as a value that fails to parse.
        if not isinstance(value, str) or info.field_name is None:
            return value
        for name in env_names(cls, info.field_name):
            if is_service_link(name, value):
                # The message names the variable: it is written before logging
                # is configured, when only the message reaches stderr.
                logger.warning(
                    "%s holds a Kubernetes service link, not a setting; using its default.",
                    name,
                    extra={"action": "setting_service_link", "variable": name},
                )
                return cls.model_fields[info.field_name].get_default(
                    call_default_factory=True
                )
        return value
