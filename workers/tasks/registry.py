"""Task bodies by job type, each named where it is defined.

`@task_body("send-sms")` puts a body in `BODIES`; `workers.tasks` registers
each under its job type, on the queue the catalogue (`app.domain.job_types`)
gives, and refuses to start when the two disagree.
"""

from collections.abc import Callable
from typing import Any, TypeVar

Body = TypeVar("Body", bound=Callable[..., Any])

BODIES: dict[str, Callable[..., Any]] = {}


def task_body(job_type: str) -> Callable[[Body], Body]:
    """Return a decorator that makes its function the body of `job_type`."""

    def register(body: Body) -> Body:
        if job_type in BODIES:
            raise ValueError(f"job type {job_type} has two task bodies")
        BODIES[job_type] = body
        return body

    return register
