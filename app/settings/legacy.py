"""The old queue service's variables: read under our names, or reported as without effect.

A deployment of the old service (Node, Bull, Redis) brings its environment
along. Each of its variables either has an equivalent here, and is read as that
setting (our name wins when both are set), or has no meaning here. The
environment check (`environment.check_unknown_variables`) logs one WARNING for
each: the variable it is read as, or why it has no effect. None stops a process.

Where each is read:

- renamed one to one (TWILIO_PHONE): a deprecated name in the field's `env_alias`;
- NODE_ENV and DB_*: by the defaults of QUEUE_ENV and DATABASE_URL (`queue_env`,
  `database_url`), since their values change shape on the way;
- RATE_LIMIT_<PROVIDER> and ALERT_THRESHOLD_<QUEUE>_QUEUE|AGE_MINUTES: by the
  override families, as the family variables they name (`overrides`).

A variable holding a Kubernetes service link (DB_PORT=tcp://..., for a Service
named db) is the platform's, never an old setting.
"""

import functools
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from app.settings.service_links import is_service_link


def _same(value: str) -> str | None:
    return value


@dataclass(frozen=True)
class Renamed:
    """An old variable read as one of ours."""

    old: str
    new: str
    # How the value becomes the new one, told in the warning (" (minutes x 60)").
    how: str = ""
    # The new variable's value, or None when this value has no equivalent;
    # `refused` then says why, in the warning.
    convert: Callable[[str], str | None] = _same
    refused: str = ""


def old_value(environ: Mapping[str, str], name: str) -> str | None:
    """Return the old variable `name`'s value; None when unset, empty or a service link."""
    value = environ.get(name)
    if not value or is_service_link(name, value):
        return None
    return value


def with_old_names(
    environ: Mapping[str, str], renames: tuple[Renamed, ...]
) -> dict[str, str]:
    """Return `environ` with each old variable of `renames` also under its new name.

    A new name that is set keeps its value: it wins over the old one.
    """
    merged = dict(environ)
    for renamed in renames:
        value = old_value(environ, renamed.old)
        if value is None or environ.get(renamed.new):
            continue
        converted = renamed.convert(value)
        if converted is not None:
            merged[renamed.new] = converted
    return merged


# NODE_ENV=development is not read as QUEUE_ENV=dev: dev accepts the built-in
# JWT secret, and an old production pod left in development must not get it.
_NODE_ENVS = {"production": "prod", "test": "test"}

NODE_ENV = Renamed(
    "NODE_ENV",
    "QUEUE_ENV",
    how=" (production: prod, test: test)",
    convert=lambda value: _NODE_ENVS.get(value.strip().lower()),
    refused=(
        "only production and test have a QUEUE_ENV equivalent (QUEUE_ENV=dev turns"
        " off the production checks and is never implied); QUEUE_ENV keeps prod"
    ),
)


def queue_env(environ: Mapping[str, str]) -> Literal["test", "prod"]:
    """Return QUEUE_ENV's default: NODE_ENV's equivalent when it has one, else prod."""
    value = old_value(environ, NODE_ENV.old)
    return "test" if value and NODE_ENV.convert(value) == "test" else "prod"


DATABASE_PARTS = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
DATABASE_RENAMES = tuple(
    Renamed(
        name,
        "DATABASE_URL",
        how=" (composed from DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASSWORD)",
    )
    for name in DATABASE_PARTS
)

_quote = functools.partial(urllib.parse.quote, safe="")


def _url_host(host: str) -> str:
    if host.startswith("/"):
        # A socket directory: libpq reads it percent-encoded in the host part.
        return _quote(host)
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def database_url(environ: Mapping[str, str]) -> str | None:
    """Return the DSN that DB_HOST, DB_PORT, DB_NAME, DB_USER and DB_PASSWORD make.

    DATABASE_URL's default: read only when it is unset. None when none of them
    is set. Each part is percent-quoted (a password may hold @, : or /); an
    unset part is left to libpq's defaults.
    """
    host, port, name, user, password = (
        old_value(environ, part) for part in DATABASE_PARTS
    )
    if not any((host, port, name, user, password)):
        return None
    userinfo = _quote(user or "") + (f":{_quote(password)}" if password else "")
    netloc = (
        (f"{userinfo}@" if userinfo else "")
        + _url_host(host or "")
        + (f":{port}" if port else "")
    )
    return f"postgresql://{netloc}/{_quote(name or '')}"


_NO_REDIS = (
    "jobs, schedules, rate limits and breakers live in PostgreSQL (DATABASE_URL);"
    " there is no Redis"
)
_NO_CHAIN = (
    "nft-mint calls the minting service (MINTING_URL), which holds the chain"
    " connections; nothing here calls a blockchain RPC"
)
# Prefixes of the old service's families that nothing here reads: every name
# with them is the old deployment's (REDIS_TLS as much as REDIS_HOST).
_NO_EFFECT_PREFIXES = {
    "REDIS_": _NO_REDIS,
    "SOLANA_": _NO_CHAIN,
    "POLYGON_": _NO_CHAIN,
}
_NO_EFFECT = {
    "SERVICE_NAME": (
        "nothing reads a service name; logs and metrics are told apart by the"
        " platform's labels (the pod, the Prometheus job)"
    ),
}


def no_effect_reason(name: str) -> str | None:
    """Return why the old variable `name` has no effect here; None if it is no such variable."""
    if name in _NO_EFFECT:
        return _NO_EFFECT[name]
    for prefix, reason in _NO_EFFECT_PREFIXES.items():
        if name.startswith(prefix):
            return reason
    return None
