"""Task bodies, one module per area, registered on the process's App by name."""

import procrastinate


def register_tasks(app: procrastinate.App) -> None:
    """Register every blueprint of the service on `app`."""
    del app  # task modules register here as they are added
