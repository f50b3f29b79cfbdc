"""A fake Stripe API: payment intents, refunds, payouts, with Stripe's idempotency.

Bodies are form-encoded with nested keys (`metadata[k]=v`), as the SDK sends
them. A POST with an `Idempotency-Key` seen before replays the stored answer
(`Idempotent-Replayed: true`) without a new side effect; the same key with
other parameters is a 400 `idempotency_error`.

Test payment methods: `pm_card_chargeDeclined` (and the two below) decline with
a 402 `card_error`; anything else succeeds.
"""

import secrets
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Answer, FakeServer, RecordedRequest, nested_form

DEFAULT_API_KEY = "sk_test_fake_4eC39HqLyjWDarjtT1zdp7dc"

# Test payment method → (error code, decline code), as in Stripe's test mode.
DECLINING_METHODS = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds"),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", None),
}


@dataclass(frozen=True)
class SideEffect:
    """Something the fake did that real money would follow."""

    kind: str  # payment_intent, charge, refund, payout
    object_id: str
    amount: int
    idempotency_key: str | None


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _error(
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    **extra: Any,
) -> Answer:
    error: dict[str, Any] = {"type": type_, "message": message}
    if code is not None:
        error["code"] = code
    if param is not None:
        error["param"] = param
    error.update(extra)
    return Answer.json(status, {"error": error}, {"Request-Id": _id("req")})


class FakeStripe(FakeServer):
    """Stripe's `/v1/payment_intents`, `/v1/refunds` and `/v1/payouts`."""

    name = "stripe"

    def __init__(
        self, *, api_key: str = DEFAULT_API_KEY, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.api_key = api_key
        self.reset_state()

    def reset_state(self) -> None:
        self.intents: dict[str, dict[str, Any]] = {}
        self.charges: list[dict[str, Any]] = []
        self.refunds: list[dict[str, Any]] = []
        self.payouts: list[dict[str, Any]] = []
        self.side_effects: list[SideEffect] = []
        self._charge_by_id: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[tuple[Any, ...], Answer]] = {}

    def side_effects_for(self, idempotency_key: str) -> list[SideEffect]:
        """The side effects of requests sent with this key (replays add none)."""
        return [s for s in self.side_effects if s.idempotency_key == idempotency_key]

    def seed_payment(self, *, amount: int, currency: str = "usd") -> dict[str, Any]:
        """Create a succeeded PaymentIntent with its charge, as if paid earlier.

        Returns:
            The PaymentIntent; its `latest_charge` is the charge id.
        """
        with self._state_lock:
            intent = self._new_intent(
                {
                    "amount": str(amount),
                    "currency": currency,
                    "payment_method": "pm_card_visa",
                }
            )
            self._succeed(intent, key=None, record=False)
            return dict(intent)

    def state(self) -> dict[str, Any]:
        return {
            "intents": self.intents,
            "charges": self.charges,
            "refunds": self.refunds,
            "payouts": self.payouts,
            "side_effects": [vars(s) for s in self.side_effects],
        }

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {
                "error": {
                    "type": "invalid_request_error",
                    "code": "rate_limit",
                    "message": "Request rate limit exceeded.",
                }
            }
        if status >= 500:
            return {
                "error": {"type": "api_error", "message": "An unknown error occurred."}
            }
        return {
            "error": {"type": "invalid_request_error", "message": "Injected failure."}
        }

    def authenticate(self, request: RecordedRequest) -> Answer | None:
        key = request.bearer()
        if key == self.api_key:
            return None
        if key is None:
            return _error(
                401,
                "You did not provide an API key. You need to provide your API key "
                "in the Authorization header, using Bearer auth.",
            )
        masked = key[:8] + "*" * max(len(key) - 12, 0) + key[-4:]
        return _error(401, f"Invalid API Key provided: {masked}")

    def answer(self, request: RecordedRequest) -> Answer:
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or not key:
            return self._route(request, key=None)
        fingerprint = (
            request.method,
            request.path,
            tuple(sorted(request.form.items())),
        )
        stored = self._idempotent.get(key)
        if stored is not None:
            if stored[0] != fingerprint:
                return _error(
                    400,
                    "Keys for idempotent requests can only be used with the same "
                    "parameters they were first used with. Try using a key other "
                    f"than '{key}' if you meant to execute a different request.",
                    type_="idempotency_error",
                )
            replay = stored[1].copy()
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        answer = self._route(request, key=key)
        answer.headers["Idempotency-Key"] = key
        if answer.status < 500:
            # Stripe saves the result of any request that began executing.
            self._idempotent[key] = (fingerprint, answer.copy())
        return answer

    def _route(self, request: RecordedRequest, *, key: str | None) -> Answer:
        parts = request.path.strip("/").split("/")
        params = nested_form(request.form)
        method = request.method
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return self._create_intent(params, key)
        if (
            method == "POST"
            and len(parts) == 4
            and parts[:2] == ["v1", "payment_intents"]
        ):
            if parts[3] == "confirm":
                return self._confirm(parts[2], params, key)
        if (
            method == "GET"
            and len(parts) == 3
            and parts[:2] == ["v1", "payment_intents"]
        ):
            intent = self.intents.get(parts[2])
            if intent is None:
                return self._missing("payment_intent", parts[2], "intent")
            return self._ok(intent)
        if method == "POST" and parts == ["v1", "refunds"]:
            return self._refund(params, key)
        if method == "POST" and parts == ["v1", "payouts"]:
            return self._payout(params, key)
        return _error(404, f"Unrecognized request URL ({method}: {request.path}).")

    def _ok(self, obj: dict[str, Any]) -> Answer:
        return Answer.json(200, obj, {"Request-Id": _id("req")})

    def _missing(self, kind: str, object_id: str, param: str) -> Answer:
        return _error(
            404,
            f"No such {kind}: '{object_id}'",
            code="resource_missing",
            param=param,
        )

    def _required(self, params: dict[str, Any], *names: str) -> Answer | None:
        for name in names:
            if not params.get(name):
                return _error(
                    400,
                    f"Missing required param: {name}.",
                    code="parameter_missing",
                    param=name,
                )
        return None

    def _new_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id = _id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(params["amount"]),
            "amount_received": 0,
            "currency": str(params["currency"]).lower(),
            "status": "requires_confirmation"
            if params.get("payment_method")
            else "requires_payment_method",
            "payment_method": params.get("payment_method"),
            "description": params.get("description"),
            "metadata": params.get("metadata", {}),
            "latest_charge": None,
            "last_payment_error": None,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "livemode": False,
        }
        self.intents[intent_id] = intent
        return intent

    def _create_intent(self, params: dict[str, Any], key: str | None) -> Answer:
        missing = self._required(params, "amount", "currency")
        if missing is not None:
            return missing
        intent = self._new_intent(params)
        self.side_effects.append(
            SideEffect("payment_intent", intent["id"], intent["amount"], key)
        )
        if params.get("confirm") == "true":
            return self._confirm(intent["id"], {}, key)
        return self._ok(intent)

    def _confirm(
        self, intent_id: str, params: dict[str, Any], key: str | None
    ) -> Answer:
        intent = self.intents.get(intent_id)
        if intent is None:
            return self._missing("payment_intent", intent_id, "intent")
        if params.get("payment_method"):
            intent["payment_method"] = params["payment_method"]
        if intent["status"] not in ("requires_confirmation", "requires_payment_method"):
            return _error(
                400,
                "This PaymentIntent's status is "
                f"{intent['status']}, so it cannot be confirmed.",
                code="payment_intent_unexpected_state",
            )
        method = intent["payment_method"]
        if not method:
            return _error(
                400,
                "You cannot confirm this PaymentIntent because it's missing a payment method.",
                code="payment_intent_unexpected_state",
            )
        decline = DECLINING_METHODS.get(method)
        if decline is not None:
            code, decline_code = decline
            error: dict[str, Any] = {
                "type": "card_error",
                "code": code,
                "message": "Your card was declined.",
                "payment_intent": None,
            }
            if decline_code is not None:
                error["decline_code"] = decline_code
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = dict(error)
            error["payment_intent"] = dict(intent)
            return Answer.json(402, {"error": error}, {"Request-Id": _id("req")})
        self._succeed(intent, key=key, record=True)
        return self._ok(intent)

    def _succeed(
        self, intent: dict[str, Any], *, key: str | None, record: bool
    ) -> None:
        charge = {
            "id": _id("ch"),
            "object": "charge",
            "amount": intent["amount"],
            "amount_refunded": 0,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "payment_method": intent["payment_method"],
            "status": "succeeded",
            "paid": True,
            "refunded": False,
            "created": int(time.time()),
            "livemode": False,
        }
        self._charge_by_id[charge["id"]] = charge
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=charge["id"],
            last_payment_error=None,
        )
        if record:
            self.charges.append(charge)
            self.side_effects.append(
                SideEffect("charge", charge["id"], charge["amount"], key)
            )

    def _refund(self, params: dict[str, Any], key: str | None) -> Answer:
        charge: dict[str, Any] | None
        if params.get("charge"):
            charge = self._charge_by_id.get(params["charge"])
            if charge is None:
                return self._missing("charge", params["charge"], "charge")
        elif params.get("payment_intent"):
            intent = self.intents.get(params["payment_intent"])
            if intent is None:
                return self._missing(
                    "payment_intent", params["payment_intent"], "payment_intent"
                )
            charge = self._charge_by_id.get(intent["latest_charge"] or "")
            if charge is None:
                return _error(
                    400,
                    "This PaymentIntent does not have a successful charge to refund.",
                    code="charge_not_found",
                    param="payment_intent",
                )
        else:
            return _error(
                400,
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                code="parameter_missing",
            )
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount") or left)
        if left <= 0:
            return _error(
                400,
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount > left:
            return _error(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                code="amount_too_large",
                param="amount",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": charge["currency"],
            "charge": charge["id"],
            "payment_intent": charge["payment_intent"],
            "reason": params.get("reason"),
            "metadata": params.get("metadata", {}),
            "status": "succeeded",
            "created": int(time.time()),
        }
        self.refunds.append(refund)
        self.side_effects.append(SideEffect("refund", refund["id"], amount, key))
        return self._ok(refund)

    def _payout(self, params: dict[str, Any], key: str | None) -> Answer:
        missing = self._required(params, "amount", "currency")
        if missing is not None:
            return missing
        method = params.get("method", "standard")
        if method not in ("standard", "instant"):
            return _error(
                400,
                f"Invalid method: {method}",
                code="parameter_invalid_string",
                param="method",
            )
        now = int(time.time())
        payout = {
            "id": _id("po"),
            "object": "payout",
            "amount": int(params["amount"]),
            "currency": str(params["currency"]).lower(),
            "method": method,
            "status": "pending",
            "arrival_date": now if method == "instant" else now + 2 * 86400,
            "metadata": params.get("metadata", {}),
            "created": now,
        }
        self.payouts.append(payout)
        self.side_effects.append(
            SideEffect("payout", payout["id"], payout["amount"], key)
        )
        return self._ok(payout)
