"""The worker's spans: a job's run, child of the trace its meta carries, and its provider calls.

See `app.observability.tracing` for when tracing is on. Off, `traced_run`
hands the body back unchanged and `traced_call` only awaits.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from opentelemetry.context import Context
from procrastinate.job_context import JobContext

from app.domain.errors import JobDeferred
from app.observability import tracing
from app.observability.tracing import SpanKind

T = TypeVar("T")


def traced_run(
    context: JobContext, call: Callable[[], Awaitable[T]]
) -> Callable[[], Awaitable[T]]:
    """Return `call` run as the job's `run <type>` span (the call itself when off)."""
    if not tracing.enabled():
        return call
    job = context.job
    attributes = {
        "messaging.destination.name": job.queue,
        "messaging.message.id": str(job.id),
        "queue_service.job_type": job.task_name,
        "queue_service.attempt": job.attempts + 1,
    }
    parent = tracing.job_context(job.task_kwargs.get("meta"))

    async def run() -> T:
        return await traced_call(
            f"run {job.task_name}", SpanKind.CONSUMER, attributes, call, parent=parent
        )

    return run


async def traced_call(
    name: str,
    kind: SpanKind,
    attributes: Mapping[str, Any],
    call: Callable[[], Awaitable[T]],
    *,
    parent: Context | None = None,
) -> T:
    """Await `call` inside a span; a failure marks it, a provider limit does not."""
    with tracing.span(name, kind, attributes, parent=parent) as current:
        try:
            return await call()
        except JobDeferred:
            # Waiting for a limit is not a failure (nor an attempt).
            if current is not None:
                current.set_attribute("queue_service.deferred", True)
            raise
        except BaseException as exc:
            tracing.record_failure(current, exc)
            raise
