"""Logging setup: JSON lines in production, text in dev.

Records carry their data in `extra`; both formats render it, procrastinate's
extras included (its default formatter hides them).
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

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
            "message": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines with the extras appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render the record, then its extras."""
        line = super().format(record)
        extras = " ".join(f"{key}={value}" for key, value in _extras(record).items())
        return f"{line} {extras}" if extras else line


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
