"""Logging setup: JSON lines in production, text in dev; personal data redacted.

Records carry their data in `extra`; both formats render it, procrastinate's
extras included (its default formatter hides them). Both formats pass
everything they write through `redact`: the message, every extra value
(nested too), exception and stack text. Workers use the same function for the
error messages they store (job outcomes, the provider ledger).
"""

import json
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# An email address keeps the first character of its local part and its domain
# ("f***@example.com"): enough to tell a provider's domain-wide trouble from
# one mailbox, not enough to name the person.
_EMAIL = re.compile(
    r"(?<![\w.%+-])([A-Za-z0-9])[A-Za-z0-9._%+-]*@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b"
)
# A phone number keeps only its last four digits, every other digit becomes
# "*" and the layout stays ("+*******0100", "(***) ***-0100"). Numbers with a
# leading "+" (E.164 and its written forms: "+1 (415) 555-0100",
# "+44 20 7946 0958") of 8 to 15 digits, and North-American national forms
# ("(415) 555-0100", "415-555-0100", "415.555.0100"). Bare digit runs are left
# alone: they are job ids, counts and timestamps far more often than phones.
_PHONE = re.compile(
    # Not inside a word or a longer number (an IP address, a version).
    r"(?<![\w+])(?<!\d[.-])"
    # Atomic: the longest run of digit groups or nothing, so that a long
    # digit run after a "+" costs one pass, not every way to split it.
    r"(?:(?>\+[1-9]\d{0,3}(?:[ .-]?\(?\d{1,4}\)?){1,6})"
    r"|\(\d{3}\) ?\d{3}[ .-]\d{4}"
    r"|\d{3}([ .-])\d{3}\1\d{4})"
    r"(?!\w)(?![.-]\d)"
)
# Credentials in a URL or a DSN: `postgresql://user:secret@host` keeps its
# scheme and host (a user name alone is no secret), `password=secret` its key. Masked before emails, which a
# URL's `secret@host` would otherwise look like (leaking its first letter).
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@:]*:[^\s/?#@]*@")
_DSN_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)=('[^']*'|[^\s&;]+)")
_DIGIT = re.compile(r"\d")
_PHONE_DIGITS = range(8, 16)
_KEEP_DIGITS = 4


def _mask_email(match: re.Match[str]) -> str:
    return f"{match[1]}***@{match[2]}"


def _mask_phone(match: re.Match[str]) -> str:
    text = match[0]
    digits = sum(c.isdigit() for c in text)
    if text.startswith("+") and digits not in _PHONE_DIGITS:
        return text
    hidden = digits - _KEEP_DIGITS
    count = 0

    def star(digit: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return "*" if count <= hidden else digit[0]

    return _DIGIT.sub(star, text)


def redact(text: str) -> str:
    """Return `text` with credentials, email addresses and phone numbers masked.

    Ids (job ids, UUIDs), ISO timestamps, IP addresses and ports pass unchanged.
    """
    if "@" in text:
        text = _URL_CREDENTIALS.sub(r"\1***@", text)
        text = _EMAIL.sub(_mask_email, text)
    if "=" in text:
        text = _DSN_PASSWORD.sub(r"\1=***", text)
    return _PHONE.sub(_mask_phone, text)


def redact_value(value: Any) -> Any:
    """Return `value` with every string in it redacted (dicts, lists, tuples, sets).

    Numbers, booleans and None stay as they are; other objects become their
    redacted `str()`.
    """
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return redact(str(value))


# Attributes every LogRecord has; anything else came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render the record and its extras as JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            **redact_value(_extras(record)),
        }
        if record.exc_info:
            entry["exc_info"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, default=lambda value: redact(str(value)))


class TextFormatter(logging.Formatter):
    """Readable lines with the extras appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render the record, then its extras, and redact the whole."""
        line = super().format(record)
        extras = " ".join(
            f"{key}={value}"
            for key, value in _extras(record).items()
            if key not in _TEXT_HIDDEN_EXTRAS
        )
        return redact(f"{line} {extras}" if extras else line)


# Extras a person reading text lines does not need: uvicorn's copy of the
# message with terminal colours.
_TEXT_HIDDEN_EXTRAS = frozenset({"color_message"})

# procrastinate's routine records: every periodic run it defers (each with the
# whole job as a dictionary, every 15 s) and its start-up registrations. Text
# lines, read by a person at `make run`, leave them out; JSON lines keep them.
PROCRASTINATE_ROUTINE_ACTIONS = frozenset(
    {"periodic_task_deferred", "registering_periodic_task", "loading_blueprint"}
)


class DropRoutine(logging.Filter):
    """Drop procrastinate's routine records from text lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for procrastinate's routine records."""
        return not (
            record.name.startswith("procrastinate")
            and getattr(record, "action", None) in PROCRASTINATE_ROUTINE_ACTIONS
        )


# procrastinate's per-job records carry the job's kwargs (personal data) in
# their message and extras, at INFO and ERROR. The worker middleware logs each
# attempt without them, so these are dropped.
PROCRASTINATE_JOB_ACTIONS = frozenset(
    {
        "start_job",
        "job_success",
        "job_error",
        "job_error_retry",
        "job_aborted",
        "job_aborted_retry",
        "loaded_job_info",
        "finish_task",
        "jobs_deferred",
        "job_defer",
        "about_to_defer_jobs",
        "ending_job",
        "task_not_found",
        "abort_job",
    }
)


class DropJobPayloads(logging.Filter):
    """Drop procrastinate's per-job records, which print the job's kwargs."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Return False for procrastinate's per-job records."""
        return not (
            record.name.startswith("procrastinate")
            and getattr(record, "action", None) in PROCRASTINATE_JOB_ACTIONS
        )


def configure_logging(*, level: str, json_lines: bool) -> None:
    """Send every record to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(DropJobPayloads())
    if not json_lines:
        handler.addFilter(DropRoutine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
