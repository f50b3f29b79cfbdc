"""Stripe: payments, refunds and payouts through the official SDK.

The SDK's async methods run on an httpx transport of ours (`_HttpxTransport`),
so no call blocks the event loop. The SDK's own retries are off: the queue
retries, and every mutating call carries an `Idempotency-Key`, so a retried or
rescued job never charges twice.
Results are small plain dicts (never the PaymentIntent's `client_secret`),
since they are stored as job results and in the idempotency ledger.
"""

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

import httpx
import stripe
from stripe.params import (
    PaymentIntentConfirmParams,
    PaymentIntentCreateParams,
    PayoutCreateParams,
    RefundCreateParams,
)

from app.settings import ProviderSettings
from workers.providers.errors import (
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    error_for_status,
    not_configured,
    unreachable,
)

PROVIDER = "stripe"

RefundReason = Literal["duplicate", "fraudulent", "requested_by_customer"]
PayoutMethod = Literal["instant", "standard"]

# Stripe's 409s for a request still running under the same key: retry later.
_RETRYABLE_CODES = frozenset({"idempotency_key_in_use", "lock_timeout"})

_INTENT_FIELDS = (
    "id",
    "status",
    "amount",
    "currency",
    "payment_method",
    "latest_charge",
    "description",
    "metadata",
)
_REFUND_FIELDS = (
    "id",
    "status",
    "amount",
    "currency",
    "payment_intent",
    "charge",
    "reason",
    "metadata",
)
_PAYOUT_FIELDS = (
    "id",
    "status",
    "amount",
    "currency",
    "method",
    "arrival_date",
    "metadata",
)


class _HttpxTransport(stripe.HTTPClient):
    """The SDK's async transport: httpx, with connect and read timeouts.

    Not `stripe.HTTPXClient`: it passes the form body as `data=`, which httpx
    0.28 deprecates with a warning on every request.
    """

    name = "httpx"

    def __init__(self, timeout: httpx.Timeout) -> None:
        super().__init__()
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def request_async(
        self, method: str, url: str, headers: Mapping[str, str], post_data: Any = None
    ) -> tuple[bytes, int, Mapping[str, str]]:
        try:
            response = await self._client.request(
                method, url, headers=headers, content=post_data
            )
        except httpx.TransportError as exc:
            raise unreachable(PROVIDER, exc) from exc
        return response.content, response.status_code, response.headers

    async def sleep_async(self, secs: float) -> None:
        await asyncio.sleep(secs)

    async def close_async(self) -> None:
        await self._client.aclose()


class StripeProvider:
    """Stripe's payment, refund and payout endpoints.

    The SDK client is built on first use, so a worker without
    `STRIPE_SECRET_KEY` starts and fails only the jobs that need Stripe.
    """

    def __init__(
        self,
        *,
        secret_key: str | None,
        api_base: str = "https://api.stripe.com",
        connect_timeout_s: float = 5.0,
        timeout_s: float = 20.0,
    ) -> None:
        self._secret_key = secret_key
        self._api_base = api_base.rstrip("/")
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._http: _HttpxTransport | None = None
        self._client: stripe.StripeClient | None = None

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "StripeProvider":
        """Build the provider from the service's settings."""
        key = settings.stripe_secret_key
        return cls(
            secret_key=key.get_secret_value() if key is not None else None,
            api_base=settings.stripe_api_base,
            connect_timeout_s=settings.provider_connect_timeout_s,
            timeout_s=settings.provider_timeout_s,
        )

    async def create_payment_intent(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        description: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Create a PaymentIntent for the payment method, not yet confirmed.

        Args:
            amount: In the currency's smallest unit (cents).
            currency: ISO 4217 code, any case.
            payment_method: A PaymentMethod id (`pm_...`).
            description: Shown in the Stripe dashboard.
            metadata: Stored on the PaymentIntent.
            idempotency_key: The same key replays the first answer.

        Returns:
            `id`, `status` (`requires_confirmation`), `amount`, `currency`,
            `payment_method`, `latest_charge`, `description`, `metadata`.

        Raises:
            ProviderNotConfigured: STRIPE_SECRET_KEY is unset.
            ProviderError: see `workers.providers.errors`.
        """
        client = self._client_for("payment-process", "nothing was charged")
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": payment_method,
            "metadata": metadata,
            "confirm": False,
            # Confirmed by the server, with no customer present to follow a
            # redirect: methods that need one are not offered.
            "automatic_payment_methods": {
                "enabled": True,
                "allow_redirects": "never",
            },
        }
        if description is not None:
            params["description"] = description
        try:
            intent = await client.v1.payment_intents.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _pick(intent, _INTENT_FIELDS)

    async def confirm_payment_intent(
        self, intent_id: str, *, payment_method: str, idempotency_key: str
    ) -> dict[str, Any]:
        """Confirm a PaymentIntent: this is the call that charges.

        Args:
            intent_id: The PaymentIntent (`pi_...`).
            payment_method: A PaymentMethod id (`pm_...`).
            idempotency_key: The same key replays the first answer.

        Returns:
            As `create_payment_intent`; `status` is `succeeded` and
            `latest_charge` the charge id when the payment went through.

        Raises:
            ProviderNotConfigured: STRIPE_SECRET_KEY is unset.
            ProviderRejected: with `code` `card_declined` when the card is declined.
            ProviderError: see `workers.providers.errors`.
        """
        client = self._client_for("payment-process", "nothing was charged")
        params: PaymentIntentConfirmParams = {"payment_method": payment_method}
        try:
            intent = await client.v1.payment_intents.confirm_async(
                intent_id, params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _pick(intent, _INTENT_FIELDS)

    async def create_refund(
        self,
        *,
        payment_intent: str,
        amount: int | None,
        reason: RefundReason | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Refund a payment, in full or in part.

        Args:
            payment_intent: The payment's PaymentIntent (`pi_...`) or, for
                older payments, its charge (`ch_...`).
            amount: Cents to refund; None refunds what is left.
            reason: Stripe's refund reason.
            metadata: Stored on the refund.
            idempotency_key: The same key replays the first answer.

        Returns:
            `id`, `status`, `amount`, `currency`, `payment_intent`, `charge`,
            `reason`, `metadata`.

        Raises:
            ProviderNotConfigured: STRIPE_SECRET_KEY is unset.
            ProviderError: see `workers.providers.errors`.
        """
        client = self._client_for("refund-process", "nothing was refunded")
        params: RefundCreateParams = {"metadata": metadata}
        if payment_intent.startswith("ch_"):
            params["charge"] = payment_intent
        else:
            params["payment_intent"] = payment_intent
        if amount is not None:
            params["amount"] = amount
        if reason is not None:
            params["reason"] = reason
        try:
            refund = await client.v1.refunds.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _pick(refund, _REFUND_FIELDS)

    async def create_payout(
        self,
        *,
        amount: int,
        currency: str,
        method: PayoutMethod,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> dict[str, Any]:
        """Pay out from the Stripe balance to the default external account.

        Args:
            amount: In the currency's smallest unit (cents).
            currency: ISO 4217 code, any case.
            method: `standard` or `instant`.
            metadata: Stored on the payout.
            idempotency_key: The same key replays the first answer.

        Returns:
            `id`, `status`, `amount`, `currency`, `method`, `arrival_date`,
            `metadata`.

        Raises:
            ProviderNotConfigured: STRIPE_SECRET_KEY is unset.
            ProviderError: see `workers.providers.errors`.
        """
        client = self._client_for("payout-process", "nothing was paid out")
        params: PayoutCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "method": method,
            "metadata": metadata,
        }
        try:
            payout = await client.v1.payouts.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _pick(payout, _PAYOUT_FIELDS)

    def warm_up(self) -> None:
        """Build the client and load the services it uses, if configured."""
        if self._secret_key is None:
            return
        v1 = self._client_for("warm-up", "").v1
        _ = (v1.payment_intents, v1.refunds, v1.payouts)

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close_async()

    def _client_for(self, what: str, effect: str) -> stripe.StripeClient:
        if self._secret_key is None:
            raise not_configured(
                what,
                needs=["STRIPE_SECRET_KEY"],
                missing=["STRIPE_SECRET_KEY"],
                effect=effect,
            )
        if self._client is None:
            self._http = _HttpxTransport(self._timeout)
            self._client = stripe.StripeClient(
                self._secret_key,
                base_addresses={"api": self._api_base},
                http_client=self._http,
                # The queue retries, with its own backoff and attempt count.
                max_network_retries=0,
            )
        return self._client


def _translate(exc: stripe.StripeError) -> ProviderError:
    if isinstance(exc, stripe.APIConnectionError):
        return unreachable(PROVIDER, exc)
    message = exc.user_message if isinstance(exc.user_message, str) else None
    status = exc.http_status
    if isinstance(exc, stripe.IdempotencyError):
        # The same key was sent with other parameters: a bug of ours, and no
        # retry can fix it.
        return ProviderRejected(
            f"stripe rejected the request (HTTP {status}, idempotency_error): {message}",
            provider=PROVIDER,
            code="idempotency_error",
            http_status=status,
        )
    code = exc.code
    if status is None:
        return ProviderUnavailable(
            f"stripe gave no usable answer: {message}", provider=PROVIDER, code=code
        )
    if isinstance(exc, stripe.RateLimitError):
        status = 429
    if code in _RETRYABLE_CODES:
        return ProviderUnavailable(
            f"stripe is still working on a request with this key (HTTP {status}, {code})",
            provider=PROVIDER,
            code=code,
            http_status=status,
        )
    return error_for_status(
        provider=PROVIDER,
        http_status=status,
        headers=exc.headers,
        code=code,
        message=message,
    )


def _pick(obj: stripe.StripeObject, fields: tuple[str, ...]) -> dict[str, Any]:
    data = obj.to_dict(for_json=True)
    picked: dict[str, Any] = {}
    for field in fields:
        value = data.get(field)
        if isinstance(value, dict) and field != "metadata":
            # An expanded object: the id is what a ledger needs.
            value = value.get("id")
        picked[field] = value
    return picked
