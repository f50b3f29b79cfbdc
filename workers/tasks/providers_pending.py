"""Job types that need an outside provider this deployment has no client for.

Each validates its payload (a bad payload is reported as such), then fails at
once with an explicit "provider not configured" error: these jobs must never
look done when nothing was charged, minted or sent. They stay in
`queue.failures` and can be retried once the provider is configured.
"""

from typing import Any

from procrastinate.job_context import JobContext

from app.domain.errors import ProviderNotConfigured
from app.domain.payloads import PAYLOAD_MODELS
from workers.tasks.payload import load_payload

# Job type → (its queue, the provider it needs), as seeded in queue.job_types.
PROVIDERS = {
    "payment-process": ("money", "stripe"),
    "refund-process": ("money", "stripe"),
    "payout-process": ("money", "stripe"),
    "nft-mint": ("money", "minting"),
    "send-email": ("communication", "sendgrid"),
    "send-sms": ("communication", "twilio"),
    "send-push": ("communication", "push"),
    "webhook-deliver": ("communication", "webhook"),
}


async def provider_not_configured(
    context: JobContext, data: Any, meta: Any = None, **_: Any
) -> None:
    """Validate the payload, then fail permanently: the provider is not configured.

    Retries: none (permanent). Defers: nothing.
    """
    del meta
    job_type = context.job.task_name
    load_payload(PAYLOAD_MODELS[job_type], data)
    raise ProviderNotConfigured(
        f"provider not configured: {job_type} needs the {PROVIDERS[job_type][1]} provider, "
        "which this service has no client for yet; the job was not attempted"
    )
