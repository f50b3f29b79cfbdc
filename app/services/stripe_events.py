"""Stripe's events in: verified with Stripe's SDK, enqueued as `stripe-event` jobs.

The one module of `app` that imports a provider SDK (import-linter allows
this import alone): the signature is checked by Stripe's own code
(`stripe.WebhookSignature.verify_header`: HMAC-SHA256 of `"<t>.<body>"` with
the endpoint's secret, any of the header's `v1` signatures, `t` at most
`TOLERANCE_S` old). Nothing is parsed, let alone enqueued, before it holds.

The job is enqueued through `app.services.enqueue`, in the request's
transaction, in the key space every unscoped producer shares: Stripe's
redeliveries of an event (same id, new signature) and an event an operator
enqueues again in SQL are one job.
"""

import json
from dataclasses import dataclass

import stripe

from app.db import Connection
from app.domain.errors import (
    StripeEventInvalid,
    StripeEventsNotConfigured,
    StripeSignatureInvalid,
)
from app.domain.stripe_events import job_data
from app.services.enqueue import enqueue

JOB_TYPE = "stripe-event"
QUEUE = "money"
# Stripe's default: a signature older than five minutes is a replay.
TOLERANCE_S: int = stripe.Webhook.DEFAULT_TOLERANCE


@dataclass(frozen=True)
class ReceivedEvent:
    """The job an event resolved to: new, or the one its id already named."""

    event_id: str
    job_id: int
    duplicate: bool


async def receive_stripe_event(
    conn: Connection,
    *,
    body: bytes,
    signature: str | None,
    secret: str | None,
    request_id: str | None,
) -> ReceivedEvent:
    """Verify a body Stripe POSTed and enqueue its `stripe-event` job.

    Args:
        conn: The request's connection; the job is enqueued in a
            transaction on it.
        body: The raw body, exactly as received: the signature covers it.
        signature: The `Stripe-Signature` header, None when missing.
        secret: STRIPE_WEBHOOK_SECRET, or None when unset.
        request_id: The request's id, kept in the job's meta.

    Raises:
        StripeEventsNotConfigured: no secret to verify with.
        StripeSignatureInvalid: the header is missing or malformed, signs another body,
            was made with another secret or is older than `TOLERANCE_S`.
        StripeEventInvalid: the signed body is not a Stripe event.
    """
    if not secret:
        raise StripeEventsNotConfigured()
    if not signature:
        raise StripeSignatureInvalid(
            "the Stripe-Signature header is missing: Stripe signs every event it sends"
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise StripeSignatureInvalid(
            "the body is not UTF-8, so it is not what Stripe signed"
        ) from None
    try:
        stripe.WebhookSignature.verify_header(text, signature, secret, TOLERANCE_S)
    except stripe.SignatureVerificationError as exc:
        # The SDK's reason names no secret and no expected signature.
        raise StripeSignatureInvalid(
            f"the Stripe-Signature header does not verify this body: {exc.user_message}"
        ) from None
    try:
        event = json.loads(text)
    except (ValueError, RecursionError):
        raise StripeEventInvalid(
            "the body is not JSON, so not a Stripe event",
            errors=[{"detail": "not JSON", "pointer": ""}],
        ) from None
    data = job_data(event)
    async with conn.transaction():
        job = await enqueue(
            conn,
            queue=QUEUE,
            job_type=JOB_TYPE,
            data=data,
            meta={"request_id": request_id, "source": "stripe-webhook"},
        )
    return ReceivedEvent(
        event_id=data["id"], job_id=job.job_id, duplicate=job.duplicate
    )
