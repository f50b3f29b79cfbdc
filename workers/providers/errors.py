"""How a provider call fails: one taxonomy for every provider (design §5, §7).

- `ProviderRateLimited`: the provider said "slow down" (HTTP 429, or any error
  answer with `Retry-After`); the rate limiter slows the bucket and the job
  waits without burning an attempt.
- `ProviderUnavailable`: 5xx, 408, timeouts, connection errors; retried.
- `ProviderRejected`: any other 4xx; permanent, another attempt would get the
  same answer.
- Missing credentials, and a provider SDK that is not installed (the extras
  `queue-service[sendgrid]`, `queue-service[twilio]`), raise
  `app.domain.errors.ProviderNotConfigured`: permanent, like any setup fault.

Messages name the provider, the HTTP status and the provider's own error code,
never a credential, and stay short: they end up in `queue.failures`.
"""

import email.utils
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from app.domain.errors import (
    PermanentTaskError,
    ProviderNotConfigured,
    RetryableTaskError,
)

MAX_MESSAGE_CHARS = 500


class ProviderError(Exception):
    """A provider call failed.

    Attributes:
        provider: Which provider answered (`stripe`, `sendgrid`, `twilio`,
            `minting`, `push`, `webhook`).
        code: The provider's own error code (`card_declined`, `21211`), if any.
        http_status: The HTTP status of the answer; None when there was none.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        http_status: int | None = None,
    ) -> None:
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[: MAX_MESSAGE_CHARS - 1] + "…"
        super().__init__(message)
        self.provider = provider
        self.code = code
        self.http_status = http_status


class ProviderRateLimited(ProviderError, RetryableTaskError):
    """The provider asked us to slow down.

    Attributes:
        retry_after_s: Seconds the provider asked us to wait, if it said.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        code: str | None = None,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, code=code, http_status=http_status)
        self.retry_after_s = retry_after_s


class ProviderUnavailable(ProviderError, RetryableTaskError):
    """The provider could not be reached or failed on its side; retry later."""


class ProviderRejected(ProviderError, PermanentTaskError):
    """The provider refused the request; another attempt gets the same answer."""


def parse_retry_after(
    value: str | None, *, now: datetime | None = None
) -> float | None:
    """Return the wait a `Retry-After` value asks for, in seconds.

    Args:
        value: The header: delay seconds (`"2"`) or an HTTP-date.
        now: The current time, for HTTP-dates; defaults to now.

    Returns:
        Seconds, never negative; None when the value is absent or unreadable.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # NaN and infinity are not waits a caller could honour.
        return max(seconds, 0.0) if seconds == seconds and seconds < 1e9 else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # RFC 9110 dates are GMT; a date without a zone is read as UTC.
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max((when - now).total_seconds(), 0.0)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """Return a header's value, matching its name case-insensitively."""
    if headers is None:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None


def error_for_status(
    *,
    provider: str,
    http_status: int,
    headers: Mapping[str, str] | None = None,
    code: str | None = None,
    message: str | None = None,
) -> ProviderError:
    """Classify a provider's error answer by the taxonomy of this module.

    Args:
        provider: The provider's name.
        http_status: The answer's status (not 2xx).
        headers: The answer's headers; `Retry-After` is read from them.
        code: The provider's error code.
        message: The provider's error message.

    Returns:
        The error to raise.
    """
    retry_after_s = parse_retry_after(header(headers, "Retry-After"))
    detail = f"HTTP {http_status}" + (f", {code}" if code else "")
    said = f": {message}" if message else ""
    if http_status == 429 or retry_after_s is not None:
        wait = f"; retry after {retry_after_s:g} s" if retry_after_s is not None else ""
        return ProviderRateLimited(
            f"{provider} rate-limited the request ({detail}){wait}{said}",
            provider=provider,
            code=code,
            http_status=http_status,
            retry_after_s=retry_after_s,
        )
    if http_status >= 500 or http_status == 408:
        return ProviderUnavailable(
            f"{provider} failed on its side ({detail}){said}",
            provider=provider,
            code=code,
            http_status=http_status,
        )
    return ProviderRejected(
        f"{provider} rejected the request ({detail}){said}",
        provider=provider,
        code=code,
        http_status=http_status,
    )


def unreachable(provider: str, exc: BaseException) -> ProviderUnavailable:
    """Return the error for a call that got no answer (timeout, refused, reset).

    The message names the exception's type only: transport messages may carry
    URLs, and URLs may carry credentials.
    """
    return ProviderUnavailable(
        f"{provider} could not be reached ({type(exc).__name__}); no answer was received",
        provider=provider,
    )


def not_configured(
    what: str, *, needs: Sequence[str], missing: Sequence[str], effect: str
) -> ProviderNotConfigured:
    """Return the permanent error of a call attempted without its settings.

    Args:
        what: The job type or action, such as `send-sms`.
        needs: Every variable the action needs.
        missing: The variables that are unset.
        effect: What did not happen, such as `the message was not sent`.

    Returns:
        For example "send-sms needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and
        TWILIO_FROM (unset: TWILIO_FROM); the message was not sent".
    """
    return ProviderNotConfigured(
        f"{what} needs {_and(needs)} (unset: {_and(missing)}); {effect}"
    )


def sdk_not_installed(
    what: str, *, sdk: str, extra: str, effect: str
) -> ProviderNotConfigured:
    """Return the permanent error of a call whose provider SDK is not installed.

    Args:
        what: The job type or action, such as `send-sms`.
        sdk: The SDK's name, such as `Twilio`.
        extra: The extra of queue-service that installs it, such as `twilio`.
        effect: What did not happen, such as `the message was not sent`.

    Returns:
        For example "send-sms needs the Twilio SDK, which is not installed:
        install queue-service[twilio]; the message was not sent".
    """
    return ProviderNotConfigured(
        f"{what} needs the {sdk} SDK, which is not installed: "
        f"install queue-service[{extra}]; {effect}"
    )


def is_outside_import(exc: ImportError) -> bool:
    """Whether an import failed for an outside package, not for one of ours.

    An SDK module that cannot import its SDK (or a dependency of it) needs an
    extra installed; one that cannot import our own code has a bug, which must
    not pass for a missing extra.
    """
    root = (exc.name or "").partition(".")[0]
    return root not in _OURS


_OURS = frozenset({"app", "workers"})


def _and(names: Sequence[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
