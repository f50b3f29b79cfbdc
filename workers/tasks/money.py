"""Money job types: payments, refunds and payouts on Stripe; ticket NFT mints.

Each provider call goes through the gate (`workers.provider_gate`): it carries
an idempotency key derived from the job's key and the step, and a step already
answered is never sent again, so a retried or rescued job charges, refunds,
pays out or mints once.
"""

from typing import Any

from procrastinate.job_context import JobContext

from app.domain.errors import PermanentTaskError
from app.domain.payloads import NftMint, PaymentProcess, PayoutProcess, RefundProcess
from workers.tasks.calls import JobCalls
from workers.tasks.payload import load_payload
from workers.tasks.registry import task_body

# PaymentIntent states after confirmation that mean the money moved or will.
_PAID = frozenset({"succeeded", "processing"})


@task_body("payment-process")
async def payment_process(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Charge the customer: a Stripe PaymentIntent created, then confirmed.

    Retries: per the money queue; a declined card or any other refusal fails
    at once. Safe to retry: both steps carry Stripe Idempotency-Keys
    (`<job key>:create`, `<job key>:confirm`) and the ledger answers a step
    already done. Defers nothing.
    """
    payment = load_payload(PaymentProcess, data)
    calls = JobCalls(context, meta)
    stripe = calls.providers.stripe
    metadata = {
        "userId": str(payment.user_id),
        "venueId": str(payment.venue_id),
        "eventId": str(payment.event_id),
    }
    created = await calls.call(
        "create",
        request={
            "amount": payment.amount,
            "currency": payment.currency,
            "paymentMethod": payment.payment_method_id,
            "metadata": metadata,
        },
        send=lambda key: stripe.create_payment_intent(
            amount=payment.amount,
            currency=payment.currency,
            payment_method=payment.payment_method_id,
            description=payment.description,
            metadata=metadata,
            idempotency_key=key,
        ),
    )
    intent_id = str(created["id"])
    confirmed = await calls.call(
        "confirm",
        request={"intent": intent_id, "paymentMethod": payment.payment_method_id},
        send=lambda key: stripe.confirm_payment_intent(
            intent_id, payment_method=payment.payment_method_id, idempotency_key=key
        ),
    )
    if confirmed.get("status") not in _PAID:
        raise PermanentTaskError(
            f"payment {intent_id} not completed: Stripe says {confirmed.get('status')} "
            "(the customer must act; nothing more will be tried)"
        )
    return {
        "transactionId": intent_id,
        "chargeId": confirmed.get("latest_charge"),
        "status": confirmed.get("status"),
        "amount": confirmed.get("amount", payment.amount),
        "currency": confirmed.get("currency", payment.currency.lower()),
    }


@task_body("refund-process")
async def refund_process(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Refund all or part of a payment with a Stripe Refund.

    Retries: per the money queue; refusals fail at once. Safe to retry: the
    refund carries an Idempotency-Key (`<job key>:refund`). Defers nothing.
    """
    refund = load_payload(RefundProcess, data)
    calls = JobCalls(context, meta)
    stripe = calls.providers.stripe
    metadata = {"transactionId": refund.transaction_id}
    done = await calls.call(
        "refund",
        request={
            "transactionId": refund.transaction_id,
            "amount": refund.amount,
            "reason": refund.reason,
        },
        send=lambda key: stripe.create_refund(
            payment_intent=refund.transaction_id,
            amount=refund.amount,
            reason=refund.reason,
            metadata=metadata,
            idempotency_key=key,
        ),
    )
    return {
        "refundId": done.get("id"),
        "transactionId": refund.transaction_id,
        "status": done.get("status"),
        "amount": done.get("amount"),
        "currency": done.get("currency"),
    }


@task_body("payout-process")
async def payout_process(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Pay a venue out with a Stripe Payout, instant or standard.

    Retries: per the money queue; refusals fail at once. Safe to retry: the
    payout carries an Idempotency-Key (`<job key>:payout`; the job key is the
    caller's payoutId). Defers nothing.
    """
    payout = load_payload(PayoutProcess, data)
    calls = JobCalls(context, meta)
    stripe = calls.providers.stripe
    metadata = {"venueId": str(payout.venue_id), "payoutId": str(payout.payout_id)}
    done = await calls.call(
        "payout",
        request={
            "amount": payout.amount,
            "currency": payout.currency,
            "method": payout.method,
            "metadata": metadata,
        },
        send=lambda key: stripe.create_payout(
            amount=payout.amount,
            currency=payout.currency,
            method=payout.method,
            metadata=metadata,
            idempotency_key=key,
        ),
    )
    return {
        "payoutId": str(payout.payout_id),
        "stripePayoutId": done.get("id"),
        "status": done.get("status"),
        "method": done.get("method", payout.method),
        "amount": done.get("amount"),
        "arrivalDate": done.get("arrival_date"),
    }


@task_body("nft-mint")
async def nft_mint(context: JobContext, data: Any, meta: Any = None) -> dict[str, Any]:
    """Mint a ticket NFT through the minting service (`MINTING_URL`).

    Retries: per the money queue. Safe to retry: the call carries an
    Idempotency-Key (`<job key>:mint`) the service answers with the first mint,
    and the ledger answers a mint already recorded. Defers nothing.
    """
    mint = load_payload(NftMint, data)
    calls = JobCalls(context, meta)
    body = mint.model_dump(mode="json", by_alias=True, exclude_none=True)
    return await calls.call(
        "mint",
        request=body,
        send=lambda key: calls.providers.minting.mint(
            payload=body, idempotency_key=key
        ),
    )
