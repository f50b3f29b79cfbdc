"""What a provider task needs from its job: its providers and a way to call them."""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

from procrastinate.job_context import JobContext

from app.domain.job_types import CATALOGUE
from app.observability.tracing import SpanKind
from workers.attempts import REUSED_KEY_MODES, job_id_of
from workers.deps import DEPS_KEY, WorkerDeps
from workers.provider_gate import CallSite
from workers.providers import Providers
from workers.tracing import traced_call

# Stripe accepts idempotency keys up to 255 characters.
MAX_KEY_CHARS = 255


def call_key(job_id: int, meta: Any) -> str:
    """Return the key a job's provider calls are made and recorded under.

    The job's idempotency key, so a retried or rescued job calls no one
    twice. A job without one is its own key. A key that later jobs reuse
    (unique while active or waiting) is made the job's own, so a later job's
    calls are not answered by this one's.
    """
    key = meta.get("idempotency_key") if isinstance(meta, dict) else None
    if not (isinstance(key, str) and key):
        return f"job-{job_id}"
    if meta.get("unique_while") in REUSED_KEY_MODES:
        return f"{key}#job-{job_id}"
    return key


class JobCalls:
    """The provider calls of one job, each under a key derived from the job's key."""

    def __init__(self, context: JobContext, meta: Any) -> None:
        self._deps: WorkerDeps = context.additional_context[DEPS_KEY]
        self._job_id = job_id_of(context.job)
        # None for a type a deployment added (WORKER_EXTRA_TASK_MODULES).
        self._job_type = CATALOGUE.get(context.job.task_name)
        self._key = call_key(self._job_id, meta)

    @property
    def providers(self) -> Providers:
        """Return the process's provider clients."""
        return self._deps.providers

    async def call(
        self,
        step: str,
        *,
        request: dict[str, Any],
        send: Callable[[str], Awaitable[dict[str, Any]]],
        subject: str | None = None,
        bucket: str | None = None,
    ) -> dict[str, Any]:
        """Make the job's call `step` through the gate; `send` gets its idempotency key.

        The call goes through the job type's provider and bucket (the
        catalogue's); `bucket` narrows it to a bucket of that group (an alert's
        SMS or voice bucket). `subject` picks the breaker where the provider
        has one per subject (a webhook's URL).
        """
        job_type = self._job_type
        provider = job_type.provider if job_type is not None else None
        bucket = bucket or (job_type.bucket if job_type is not None else None)
        if provider is None or bucket is None:
            raise RuntimeError(
                f"job type {job_type.name if job_type else 'outside the catalogue'} "
                "has no provider and bucket in app/domain/job_types.py"
            )
        site = CallSite(job_id=self._job_id, key=self._key, step=step)
        key = site.ledger_key
        if len(key) > MAX_KEY_CHARS:
            key = hashlib.sha256(key.encode()).hexdigest()
        return await traced_call(
            f"{provider} {step}",
            SpanKind.CLIENT,
            {
                "queue_service.provider": provider,
                "queue_service.bucket": bucket,
                "queue_service.step": step,
            },
            lambda: self._deps.gate.call(
                site,
                provider=provider,
                bucket=bucket,
                request=request,
                send=lambda: send(key),
                subject=subject,
            ),
        )
