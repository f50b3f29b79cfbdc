"""Every console page beyond the overview, in the order of the navigation.

Each module holds one page's handlers; its list joins `PAGES`, which
`app.api.console.console_routers` serves signed in.
"""

from typing import Any

from app.api.console import alerts, failures, jobs, limits, schedules, workers

PAGES: list[Any] = [
    *jobs.HANDLERS,
    *failures.HANDLERS,
    *limits.HANDLERS,
    *alerts.HANDLERS,
    *schedules.HANDLERS,
    *workers.HANDLERS,
]
