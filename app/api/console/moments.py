"""Moments and ages as the console writes them, registered once for every template.

`moment` says a UTC date and time, for any age (alerts, schedule runs,
heartbeats); `clock` a time of the last day (the overview's reading); `age`
a duration as people read it.
"""

from datetime import UTC, datetime


def moment(at: datetime | None) -> str:
    """Say a moment as a UTC date and time to the second (None: "none", as `age` does)."""
    if at is None:
        return "none"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(at: datetime) -> str:
    """Say a time of the last day as a UTC clock time."""
    return at.astimezone(UTC).strftime("%H:%M:%S UTC")


def age(seconds: float | None) -> str:
    """Say an age as people read it: 45 s, 12 min, 3.5 h."""
    if seconds is None:
        return "none"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
