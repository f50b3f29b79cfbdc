"""`queue-service token`: a bearer token signed with the configured HS256 secret."""

import argparse
from datetime import timedelta

from app.settings import Settings, UnsafeSettingsError


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Print a bearer token for the configured HS256 secret."""
    from app.api.auth import issue_token
    from app.domain.access import Role

    if settings.api.jwt_public_key_file:
        raise SystemExit(
            "tokens are verified with RS256 (JWT_PUBLIC_KEY_FILE): sign them with your private key"
        )
    try:
        # A token signed with a guessable secret is anyone's to forge.
        settings.check_safe()
    except UnsafeSettingsError as exc:
        raise SystemExit(f"refusing to sign a token: {exc}") from None
    ttl = _duration(args.ttl)
    if ttl.total_seconds() > settings.api.jwt_max_ttl_s:
        raise SystemExit(
            f"--ttl {args.ttl} is longer than JWT_MAX_TTL_S ({settings.api.jwt_max_ttl_s} s): "
            "the API would refuse the token"
        )
    print(
        issue_token(
            secret=settings.api.jwt_secret.get_secret_value(),
            role=Role(args.role),
            sub=args.sub,
            venues=[v for v in (args.venues or "").split(",") if v],
            ttl=ttl,
            issuer=settings.api.jwt_issuer,
            audience=settings.api.jwt_audience,
        )
    )
    return 0


def _duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit() or int(number) <= 0:
        raise SystemExit(f"--ttl must look like 3600, 90m, 12h or 7d, got {text!r}")
    return timedelta(seconds=int(number) * units[unit])
