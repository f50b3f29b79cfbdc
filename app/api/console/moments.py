"""Moments as the console writes them: a UTC date and time, for any age.

`clock` (overview) says a time of the last day; alerts, schedule runs and
heartbeats may be older, or later, than that, so these pages say the date too.
"""

from datetime import UTC, datetime


def moment(at: datetime | None) -> str:
    """Say a moment as a UTC date and time to the second (None: "none", as `age` does)."""
    if at is None:
        return "none"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
