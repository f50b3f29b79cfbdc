"""What every settings group shares: environment names and empty values."""

from pydantic import AliasChoices
from pydantic_settings import BaseSettings, SettingsConfigDict


def env_alias(name: str) -> AliasChoices:
    """Read a field from the environment name `name`, or its lower-cased field name.

    Both are accepted so tests and callers can build settings with keyword
    arguments.
    """
    return AliasChoices(name, name.lower())


def env_names(group: type[BaseSettings], field_name: str) -> tuple[str, ...]:
    """Return the environment names one field of `group` reads."""
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
