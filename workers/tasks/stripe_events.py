"""stripe-event: what Stripe tells later about the money jobs of this service.

A money job ends when Stripe has answered its call, not when the money has
moved: payment-process may return `processing` (a debit that settles days
later), payout-process returns `pending`, and a payment may be refunded from
the dashboard, or a refund fail, long after. Stripe tells by event. For an
event about a PaymentIntent, a charge, a refund or a payout, the task finds
the job whose Stripe call made that object: the ledger (`queue.side_effects`)
holds every answer Stripe gave, searched around the object's `created` time.
When that job asked for a callback (`callbackUrl`), the event is forwarded
there as a signed `webhook-deliver` (`stripe.<type>`, the Stripe event id as
`X-Webhook-Id`) on the job's own callback stream: after the job's
`job.completed` or `job.failed`, and one job's events in order.

The result says what was done (`outcome`):
- `forwarded`: to the job's callback (`webhookJobId`);
- `recorded`: the job is known (`jobId`) and has no callback to forward to;
- `unmatched`: no job of this service made the object (the dashboard or
  another integration did, or the ledger's 90 days are past);
- `unhandled`: the event is about an object this service never makes
  (customers, invoices, disputes, ...): nothing is done, and it says so.
"""

import time
from datetime import UTC, datetime
from typing import Any

from procrastinate.job_context import JobContext

from app.db.queries import stripe_events as queries
from app.domain.errors import PayloadInvalid, RetryableTaskError
from app.domain.payloads import StripeEvent
from app.services.enqueue import enqueue
from workers.attempts import job_id_of
from workers.callbacks import callback_url_of
from workers.deps import DEPS_KEY, WorkerDeps
from workers.tasks.payload import load_payload
from workers.tasks.registry import task_body

# The objects this service's own Stripe calls make, and the job types making them.
HANDLED = {
    "payment_intent": "payment-process",
    "charge": "payment-process",
    "refund": "refund-process",
    "payout": "payout-process",
}
# A call that made an object started at most this long before Stripe's
# `created` (the provider timeout and then some), or after it by clock skew.
MATCH_WINDOW_S = 600.0
# Stripe may send an object's first event before the call that made it has
# recorded Stripe's answer; until the object is this old, an object no job
# has recorded yet is tried again rather than called someone else's.
RECORDING_GRACE_S = 120.0


@task_body("stripe-event")
async def stripe_event(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Match the event to the money job that made its object; forward it to its callback.

    Retries: per the money queue, while the object is younger than
    `RECORDING_GRACE_S` and no job has recorded it, and while the matched
    job, which has a callback, is still running (its own callback goes
    first). Safe to retry: the forwarded webhook's key is the event id and
    the callback URL, so it is enqueued once. Defers nothing.
    """
    event = load_payload(StripeEvent, data)
    obj = event.object
    result: dict[str, Any] = {
        "eventId": event.id,
        "type": event.type,
        "objectId": event.object_id,
        "stripeObject": obj.id,
    }
    if obj.object not in HANDLED:
        return {
            **result,
            "outcome": "unhandled",
            "detail": f"no handler for {event.type}: this service acts on events "
            "of PaymentIntents, charges, refunds and payouts, which its jobs make",
        }
    if obj.id is None or obj.created is None:
        return {
            **result,
            "outcome": "unmatched",
            "detail": f"the {obj.object} has no id or created time to match a job by",
        }
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    async with deps.pool.connection() as conn:
        origin = await queries.find_stripe_origin(
            conn,
            object_id=obj.id,
            created=datetime.fromtimestamp(obj.created, UTC),
            window_s=MATCH_WINDOW_S,
        )
        if origin is None:
            age_s = time.time() - obj.created
            if age_s < RECORDING_GRACE_S:
                raise RetryableTaskError(
                    f"no job has recorded {obj.id} yet; it is {max(age_s, 0):.0f} s old, "
                    "and the call that made it may not have recorded Stripe's answer"
                )
            return {
                **result,
                "outcome": "unmatched",
                "detail": f"no job of this service made {obj.id} "
                f"(a {HANDLED[obj.object]} job's calls are kept 90 days)",
            }
        matched = {**result, "jobId": origin.job_id, "jobType": origin.job_type}
        if origin.job_type is None:
            return {
                **matched,
                "outcome": "recorded",
                "detail": f"job {origin.job_id} made {obj.id} and no longer exists",
            }
        url = callback_url_of(origin.data, origin.meta)
        if url is None:
            return {
                **matched,
                "outcome": "recorded",
                "detail": f"{origin.job_type} job {origin.job_id} has no callback URL",
            }
        if origin.state == "doing":
            raise RetryableTaskError(
                f"{origin.job_type} job {origin.job_id} is still running; "
                "its own callback goes first"
            )
        try:
            forwarded = await enqueue(
                conn,
                queue="communication",
                job_type="webhook-deliver",
                data={
                    "url": url,
                    "eventId": event.id,
                    "event": f"stripe.{event.type}",
                    # The job's callback stream: after its job.completed.
                    "stream": f"job-{origin.job_id}",
                    "payload": {
                        "jobId": origin.job_id,
                        "type": origin.job_type,
                        "stripeEventId": event.id,
                        "stripeEventType": event.type,
                        "created": event.created,
                        "livemode": event.livemode,
                        "object": data["object"],
                    },
                },
                meta={
                    "request_id": meta.get("request_id")
                    if isinstance(meta, dict)
                    else None,
                    "stripe_event_job": job_id_of(context.job),
                },
            )
        except PayloadInvalid as exc:
            # A callback URL written in SQL, never checked: nowhere to send.
            return {
                **matched,
                "outcome": "recorded",
                "detail": f"the callback URL of job {origin.job_id} is refused: "
                f"{exc.detail}",
            }
    return {
        **matched,
        "outcome": "forwarded",
        "webhookJobId": forwarded.job_id,
        "detail": f"forwarded to the callback of {origin.job_type} job {origin.job_id}",
    }
