"""Task bodies, one module per area, registered on the process's App by name.

Each task's name is its job type, so `queue.enqueue('background',
'analytics-track', ...)` runs `analytics_track`. A body names its type where it
is defined (`@task_body`); the queue comes from the job-type catalogue
(`app.domain.job_types`), and a worker refuses to start when the bodies and
the catalogue disagree. Every task takes the job's context and the envelope's
`data` and `meta`, and uses the queue policy retry. The bodies of plugins'
types (`app.domain.job_type_plugins`) are imported here, from the paths
their plugins give, and checked the same way.
"""

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Sequence
from typing import Any

import procrastinate
from procrastinate.retry import BaseRetryStrategy

from app.domain.job_type_plugins import JobTypePluginError, loaded_plugins
from app.domain.job_types import CATALOGUE
from workers.tasks import (  # noqa: F401 - each module registers its bodies
    alerts,
    background,
    communication,
    maintenance,
    money,
    schedules,
    stripe_events,
)
from workers.tasks.registry import BODIES

RETENTION_CRON = "0 * * * *"  # hourly, on the hour
RESCUE = "rescue-stalled-jobs"  # its body depends on the heartbeat timeout


class TaskCatalogueMismatch(RuntimeError):
    """The task bodies and the job-type catalogue name different job types."""


def plugin_bodies() -> dict[str, Callable[..., Any]]:
    """Import the task body of each job type of the plugins this process loaded.

    Raises:
        JobTypePluginError: naming the plugin whose body cannot be imported,
            or cannot be called with a job's context, `data` and `meta`.
    """
    bodies: dict[str, Callable[..., Any]] = {}
    for loaded in loaded_plugins():
        for job_type, path in loaded.plugin.bodies.items():
            where = f"{loaded.describe()}: the task body of {job_type}, {path},"
            try:
                body = pkgutil.resolve_name(path)
            except Exception as exc:
                raise JobTypePluginError(
                    f"{where} cannot be imported: {type(exc).__name__}: {exc}"
                ) from exc
            if not _takes_a_job(body):
                raise JobTypePluginError(
                    f"{where} is not a function of (context, data, meta)"
                )
            bodies[job_type] = body
    return bodies


def _takes_a_job(body: object) -> bool:
    # procrastinate calls a body with the context, then the job's kwargs.
    if not callable(body):
        return False
    try:
        inspect.signature(body).bind(None, data=None, meta=None)
    except (TypeError, ValueError):
        return False
    return True


def task_bodies(stalled_after_s: float) -> dict[str, Callable[..., Any]]:
    """Return the body of every catalogued job type, the plugins' ones included.

    Raises:
        TaskCatalogueMismatch: a type has no body, or a body has no type.
        JobTypePluginError: a plugin's body cannot be imported.
    """
    bodies = {
        **BODIES,
        RESCUE: maintenance.rescue_task(stalled_after_s),
        **plugin_bodies(),
    }
    missing = sorted(set(CATALOGUE) - set(bodies))
    unknown = sorted(set(bodies) - set(CATALOGUE))
    if missing or unknown:
        raise TaskCatalogueMismatch(
            "task bodies and the job-type catalogue (app/domain/job_types.py) disagree: "
            + "; ".join(
                part
                for part in (
                    missing and f"no body for {', '.join(missing)}",
                    unknown and f"not in the catalogue: {', '.join(unknown)}",
                )
                if part
            )
        )
    return bodies


def every_seconds_cron(seconds: int) -> str:
    """Return a cron expression (with procrastinate's seconds field) firing every `seconds`."""
    if not 1 <= seconds <= 60 or 60 % seconds:
        raise ValueError(f"a period of {seconds}s does not divide a minute")
    return f"* * * * * */{seconds}"


def register_tasks(
    app: procrastinate.App,
    *,
    retry: BaseRetryStrategy,
    stalled_after_s: float,
    rescue_every_s: int,
    monitor_every_s: int = 30,
    extra_modules: Sequence[str] = (),
) -> None:
    """Register every task of the service, and the periodic maintenance, on `app`.

    Raises:
        TaskCatalogueMismatch: the bodies and the catalogue disagree.
        JobTypePluginError: a plugin's body cannot be imported.

    `extra_modules` name modules with a `register(app, retry)` function, for
    task types a deployment adds (and for benchmarks and tests).
    """
    crons = {
        RESCUE: every_seconds_cron(rescue_every_s),
        "monitor": every_seconds_cron(monitor_every_s),
        "run-retention": RETENTION_CRON,
        "run-schedules": every_seconds_cron(schedules.SCHEDULES_EVERY_S),
        "age-priorities": every_seconds_cron(maintenance.AGE_PRIORITIES_EVERY_S),
    }
    for job_type, body in task_bodies(stalled_after_s).items():
        task = app.task(
            name=job_type,
            queue=CATALOGUE[job_type].queue,
            retry=retry,
            pass_context=True,
        )(body)
        if job_type in crons:
            app.periodic(cron=crons[job_type])(task)
    for module in extra_modules:
        importlib.import_module(module).register(app, retry)
