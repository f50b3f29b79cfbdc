"""Stripe's events as Stripe sends them: pretty-printed JSON, signed per endpoint.

The signature is made here from Stripe's documented scheme, not with the SDK
the service verifies with, so a wrong verifier cannot pass its own test:
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
"""

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from app.settings import ProviderSettings

PATH = "/api/v1/queue/webhooks/stripe"
WEBHOOK_SECRET = "whsec_test_4f1c3b0a4d0e9f557f5a2f0c9b02"  # noqa: S105 - test only


def sign(body: bytes, secret: str = WEBHOOK_SECRET, *, at: int | None = None) -> str:
    """Return the Stripe-Signature header Stripe would send with `body`."""
    timestamp = int(time.time()) if at is None else at
    signed = f"{timestamp}.".encode() + body
    mac = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(
    type_: str,
    obj: dict[str, Any],
    *,
    event_id: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """Return a snapshot event about `obj`, with the members Stripe gives one."""
    return {
        "id": event_id or f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type_,
    }


def body_of(payload: Any) -> bytes:
    """Return the body as Stripe writes it: JSON indented by two spaces."""
    return json.dumps(payload, indent=2).encode()


def signed(
    payload: Any, secret: str = WEBHOOK_SECRET, *, at: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Return the body and the headers of Stripe's POST of `payload`."""
    body = body_of(payload)
    return body, {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Stripe-Signature": sign(body, secret, at=at),
    }


def payment_intent(
    intent_id: str | None = None, *, created: int | None = None, **more: Any
) -> dict[str, Any]:
    """Return a PaymentIntent as Stripe's events carry it, customer details included."""
    intent_id = intent_id or f"pi_{secrets.token_hex(12)}"
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": 1500,
        "amount_received": 0,
        "currency": "usd",
        "status": "requires_payment_method",
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
        "receipt_email": "jenny.rosen@example.com",
        "shipping": {
            "name": "Jenny Rosen",
            "phone": "+14155550100",
            "address": {"line1": "510 Townsend St", "city": "San Francisco"},
        },
        "payment_method": "pm_card_visa",
        "latest_charge": None,
        "last_payment_error": {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": "insufficient_funds",
            "message": "Your card has insufficient funds.",
            "payment_method": {
                "id": "pm_card_visa",
                "billing_details": {"email": "jenny.rosen@example.com"},
                "card": {"last4": "4242", "exp_month": 12, "exp_year": 2030},
            },
        },
        "metadata": {"venueId": "v-1", "orderId": "order-42"},
        **more,
    }


def webhook_settings(secret: str | None = WEBHOOK_SECRET) -> ProviderSettings:
    """Provider settings of an API that takes Stripe's events signed with `secret`."""
    return ProviderSettings(stripe_webhook_secret=secret)  # type: ignore[arg-type]


async def eventually(
    predicate: Callable[[], Any], *, within_s: float = 60, what: str = "condition"
) -> Any:
    """Poll `predicate` without blocking the event loop; fail after `within_s`."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {within_s}s waiting for {what}")
