"""Signed webhooks to caller-given URLs: job callbacks and `webhook-deliver`.

The URL is a caller's, so every connection is checked against
`DestinationPolicy` (public addresses, and WEBHOOK_ALLOWED_NETWORKS), no
redirect is followed, and a failed delivery's error says only the status:
what the subscriber's server answered is not shown to the job's owner.

A delivery carries `X-Webhook-Id` (the event id, for the receiver to drop
repeats), `X-Webhook-Timestamp` (unix seconds) and `X-Webhook-Signature`
(`v1=` and the hex HMAC-SHA256 of `id`, `timestamp`, `url` and the body, see
`signed_content`). Signing the URL, as well as the body and time, keeps a
delivery captured at one subscriber from being replayed to another.
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

from app.settings import ProviderSettings
from workers.providers.destinations import DestinationPolicy
from workers.providers.errors import not_configured
from workers.providers.json_poster import JsonPoster, Timeouts

SIGNATURE_VERSION = "v1"


def signed_content(event_id: str, timestamp: int, url: str, body: bytes) -> bytes:
    """What a webhook's signature covers.

    `id`, `timestamp` and `url`, each followed by a newline, then the body.
    None of the three may hold a newline, so no two deliveries share a
    content: a caller choosing an id and URL cannot make one delivery's
    signature fit another URL.

    Raises:
        ValueError: the id or URL holds a control character.
    """
    for name, value in (("event id", event_id), ("url", url)):
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise ValueError(f"the webhook's {name} holds a control character")
    return f"{event_id}\n{timestamp}\n{url}\n".encode() + body


def sign(secret: bytes, event_id: str, timestamp: int, url: str, body: bytes) -> str:
    """Return the `X-Webhook-Signature` of a delivery.

    Args:
        secret: WEBHOOK_SIGNING_SECRET, as bytes.
        event_id: The `X-Webhook-Id`.
        timestamp: The `X-Webhook-Timestamp`, unix seconds.
        url: The URL the delivery is POSTed to, as sent.
        body: The raw request body.

    Returns:
        `v1=` and the hex HMAC-SHA256 of `signed_content(...)`.
    """
    content = signed_content(event_id, timestamp, url, body)
    return (
        f"{SIGNATURE_VERSION}=" + hmac.new(secret, content, hashlib.sha256).hexdigest()
    )


def verify(
    secret: bytes,
    *,
    url: str,
    event_id: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    tolerance_s: float | None = 300,
    now: float | None = None,
) -> bool:
    """Check a delivery's signature as a receiver would.

    Args:
        secret: The shared signing secret.
        url: The receiver's own URL, the one it subscribed with.
        event_id: The `X-Webhook-Id` header.
        timestamp: The `X-Webhook-Timestamp` header.
        body: The raw request body.
        signature: The `X-Webhook-Signature` header.
        tolerance_s: Refuse timestamps further than this from `now`, against
            replays; None skips the check.
        now: Unix time to compare with; defaults to now.

    Returns:
        True when the signature matches the id, time, URL and body.
    """
    try:
        seconds = int(timestamp)
        expected = sign(secret, event_id, seconds, url, body)
    except ValueError:
        return False
    if tolerance_s is not None:
        current = time.time() if now is None else now
        if abs(current - seconds) > tolerance_s:
            return False
    return hmac.compare_digest(expected, signature)


class WebhookSender:
    """Signed webhook deliveries to subscribers' URLs."""

    def __init__(
        self,
        *,
        secret: bytes | None,
        timeout: Timeouts,
        destinations: DestinationPolicy | None = None,
    ) -> None:
        self._secret = secret
        self._poster = JsonPoster(
            "webhook",
            timeout,
            destinations=destinations or DestinationPolicy(),
            quote_error_answers=False,
        )

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "WebhookSender":
        """Build the sender from the service's settings."""
        secret = settings.webhook_signing_secret
        return cls(
            secret=secret.get_secret_value().encode() if secret is not None else None,
            timeout=Timeouts.of(settings),
            destinations=DestinationPolicy(settings.webhook_allowed_networks),
        )

    async def deliver(
        self, *, url: str, event: str, event_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """POST an event, signed, to a subscriber.

        The body is `{"event", "eventId", "payload", "deliveredAt"}`, with the
        headers of the module's docstring.

        Args:
            url: The subscriber's URL.
            event: The event's name.
            event_id: The event's id.
            payload: The event's data.

        Returns:
            `status_code` of the subscriber's 2xx answer.

        Raises:
            ProviderNotConfigured: WEBHOOK_SIGNING_SECRET is unset.
            ProviderRejected: the URL's destination is refused, or the
                subscriber answered 3xx or 4xx (not 408/429).
            ProviderError: see `workers.providers.errors`.
        """
        if not self._secret:
            raise not_configured(
                "webhook-deliver",
                needs=["WEBHOOK_SIGNING_SECRET"],
                missing=["WEBHOOK_SIGNING_SECRET"],
                effect="the webhook was not delivered",
            )
        timestamp = int(time.time())
        body = json.dumps(
            {
                "event": event,
                "eventId": event_id,
                "payload": payload,
                "deliveredAt": datetime.fromtimestamp(timestamp, UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        answer = await self._poster.post(
            url,
            content=body,
            headers={
                "X-Webhook-Timestamp": str(timestamp),
                "X-Webhook-Id": event_id,
                "X-Webhook-Signature": sign(
                    self._secret, event_id, timestamp, url, body
                ),
            },
        )
        return {"status_code": answer.status}

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        await self._poster.aclose()
