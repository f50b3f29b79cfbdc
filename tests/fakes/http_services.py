"""Fakes of the plain-HTTP providers: minting, push, and a webhook receiver."""

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.base import Answer, FakeServer, RecordedRequest

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(length: int) -> str:
    return "".join(secrets.choice(_BASE58) for _ in range(length))


@dataclass(frozen=True)
class Mint:
    """One NFT the fake minted."""

    idempotency_key: str | None
    payload: Any
    mint_address: str
    transaction_signature: str


class FakeMinting(FakeServer):
    """The minting service: `POST /mint`, idempotent by `Idempotency-Key`."""

    name = "minting"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.reset_state()

    def reset_state(self) -> None:
        self.mints: list[Mint] = []
        self._by_key: dict[str, Mint] = {}

    def mints_for(self, idempotency_key: str) -> list[Mint]:
        """The mints made for this key (a replay makes none)."""
        return [m for m in self.mints if m.idempotency_key == idempotency_key]

    def state(self) -> dict[str, Any]:
        return {"mints": [vars(m) for m in self.mints]}

    def answer(self, request: RecordedRequest) -> Answer:
        if (request.method, request.path) != ("POST", "/mint"):
            return Answer.json(404, {"error": "not found"})
        if not isinstance(request.json, dict):
            return Answer.json(400, {"error": "the body must be a JSON object"})
        key = request.headers.get("idempotency-key")
        replayed = self._by_key.get(key) if key else None
        mint = replayed or Mint(
            idempotency_key=key,
            payload=request.json,
            mint_address=_base58(44),
            transaction_signature=_base58(88),
        )
        if replayed is None:
            self.mints.append(mint)
            if key:
                self._by_key[key] = mint
        return Answer.json(
            200,
            {
                "mintAddress": mint.mint_address,
                "transactionSignature": mint.transaction_signature,
            },
            {"Idempotent-Replayed": "true"} if replayed else None,
        )


class FakePush(FakeServer):
    """The push service: `POST /send` with `{userId, title, body, data}`."""

    name = "push"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.devices_per_user = 1
        self.reset_state()

    def reset_state(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        return {"sent": self.sent}

    def answer(self, request: RecordedRequest) -> Answer:
        if (request.method, request.path) != ("POST", "/send"):
            return Answer.json(404, {"error": "not found"})
        body = request.json
        if not isinstance(body, dict):
            return Answer.json(400, {"error": "the body must be a JSON object"})
        missing = [name for name in ("userId", "title", "body") if not body.get(name)]
        if missing:
            return Answer.json(400, {"error": f"missing: {', '.join(missing)}"})
        self.sent.append(body)
        return Answer.json(
            200,
            {"id": f"push_{secrets.token_hex(8)}", "delivered": self.devices_per_user},
        )


class FakeWebhookReceiver(FakeServer):
    """A subscriber: takes a POST on any path and checks its signature.

    The check is written here from the header contract, not imported from the
    sender, so a wrong signer cannot pass its own test.
    """

    name = "webhook"

    def __init__(
        self, *, secret: bytes | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        super().__init__(host=host, port=port)
        self.secret = secret
        self.reset_state()

    def reset_state(self) -> None:
        self.deliveries: list[RecordedRequest] = []
        self.valid_signatures: list[bool] = []

    def state(self) -> dict[str, Any]:
        return {
            "deliveries": [d.to_json() for d in self.deliveries],
            "valid_signatures": self.valid_signatures,
        }

    def signature_is_valid(self, request: RecordedRequest) -> bool:
        """Whether the request carries a fresh, correct signature for this URL.

        The signed content is the id, the timestamp and this receiver's own
        URL, each followed by a newline, then the body.
        """
        if self.secret is None:
            return False
        event_id = request.headers.get("x-webhook-id", "")
        timestamp = request.headers.get("x-webhook-timestamp", "")
        signature = request.headers.get("x-webhook-signature", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return False
        own_url = self.url + request.path
        content = f"{event_id}\n{timestamp}\n{own_url}\n".encode() + request.body
        expected = hmac.new(self.secret, content, hashlib.sha256).hexdigest()
        return hmac.compare_digest("v1=" + expected, signature)

    def answer(self, request: RecordedRequest) -> Answer:
        if request.method != "POST":
            return Answer.json(405, {"error": "method not allowed"})
        self.deliveries.append(request)
        self.valid_signatures.append(self.signature_is_valid(request))
        return Answer.json(200, {"received": True})
