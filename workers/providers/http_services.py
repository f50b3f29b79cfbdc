"""The plain-HTTP providers: the minting service, push notifications, webhooks.

Each is a small client over one `httpx.AsyncClient` with connect and read
timeouts, no retries (the queue retries) and no redirects. Answers are
classified by the taxonomy of `workers.providers.errors`; a 4xx's code is
`http_<status>`.
"""

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from app.settings import ProviderSettings
from workers.providers.errors import (
    ProviderRejected,
    ProviderUnavailable,
    error_for_status,
    not_configured,
    unreachable,
)

_USER_AGENT = "queue-service"


def _timeout(settings: ProviderSettings) -> httpx.Timeout:
    return httpx.Timeout(
        settings.provider_timeout_s, connect=settings.provider_connect_timeout_s
    )


class _JsonPoster:
    """POSTs JSON with one lazily opened client, and classifies the answer."""

    def __init__(self, provider: str, timeout: httpx.Timeout) -> None:
        self._provider = provider
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                headers={"User-Agent": _USER_AGENT},
            )
        try:
            response = await self._client.post(
                url,
                content=content,
                headers={"Content-Type": "application/json", **headers},
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            # A bad URL stays bad: no retry can deliver to it.
            raise ProviderRejected(
                f"{self._provider} URL is not a valid http(s) URL ({type(exc).__name__})",
                provider=self._provider,
                code="invalid_url",
            ) from exc
        except httpx.TransportError as exc:
            raise unreachable(self._provider, exc) from exc
        if not response.is_success:
            raise error_for_status(
                provider=self._provider,
                http_status=response.status_code,
                headers=response.headers,
                code=f"http_{response.status_code}",
                message=_short_text(response),
            )
        return response

    def json_object(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                f"{self._provider} answered HTTP {response.status_code} without a JSON object",
                provider=self._provider,
                http_status=response.status_code,
            )
        return body

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _short_text(response: httpx.Response) -> str | None:
    # The start of the body helps an operator; the whole may be a web page.
    text = response.text.strip()
    return text[:200] or None


class MintingProvider:
    """The internal minting service: `POST {MINTING_URL}/mint`."""

    def __init__(self, *, url: str | None, timeout: httpx.Timeout) -> None:
        self._url = url.rstrip("/") if url else None
        self._poster = _JsonPoster("minting", timeout)

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "MintingProvider":
        """Build the provider from the service's settings."""
        return cls(url=settings.minting_url, timeout=_timeout(settings))

    async def mint(
        self, *, payload: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """Mint a ticket NFT.

        Args:
            payload: The JSON body the minting service takes.
            idempotency_key: Sent as `Idempotency-Key`; the service answers a
                repeated key with the first mint.

        Returns:
            `mintAddress` and `transactionSignature`.

        Raises:
            ProviderNotConfigured: MINTING_URL is unset.
            ProviderUnavailable: also when the answer lacks either field.
            ProviderError: see `workers.providers.errors`.
        """
        if self._url is None:
            raise not_configured(
                "nft-mint",
                needs=["MINTING_URL"],
                missing=["MINTING_URL"],
                effect="nothing was minted",
            )
        response = await self._poster.post(
            f"{self._url}/mint",
            content=json.dumps(payload).encode(),
            headers={"Idempotency-Key": idempotency_key},
        )
        body = self._poster.json_object(response)
        result = {
            "mintAddress": body.get("mintAddress"),
            "transactionSignature": body.get("transactionSignature"),
        }
        absent = [name for name, value in result.items() if not value]
        if absent:
            # Retried: the key makes the service answer with the same mint.
            raise ProviderUnavailable(
                f"minting answered HTTP {response.status_code} without {' and '.join(absent)}",
                provider="minting",
                http_status=response.status_code,
            )
        return result

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        await self._poster.aclose()


class PushProvider:
    """The push notification service: `POST {PUSH_URL}/send`."""

    def __init__(self, *, url: str | None, timeout: httpx.Timeout) -> None:
        self._url = url.rstrip("/") if url else None
        self._poster = _JsonPoster("push", timeout)

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "PushProvider":
        """Build the provider from the service's settings."""
        return cls(url=settings.push_url, timeout=_timeout(settings))

    async def send(
        self, *, user_id: str, title: str, body: str, data: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Send a notification to a user's devices.

        Args:
            user_id: Whose devices.
            title: The notification's title.
            body: Its text.
            data: Extra data for the app.

        Returns:
            The service's JSON answer, such as `{"id": ..., "delivered": 2}`.

        Raises:
            ProviderNotConfigured: PUSH_URL is unset.
            ProviderError: see `workers.providers.errors`.
        """
        if self._url is None:
            raise not_configured(
                "send-push",
                needs=["PUSH_URL"],
                missing=["PUSH_URL"],
                effect="the notification was not sent",
            )
        message = {"userId": user_id, "title": title, "body": body, "data": data or {}}
        response = await self._poster.post(
            f"{self._url}/send", content=json.dumps(message).encode(), headers={}
        )
        return self._poster.json_object(response)

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        await self._poster.aclose()


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Return the `X-Webhook-Signature` of a webhook.

    Args:
        secret: WEBHOOK_SIGNING_SECRET, as bytes.
        timestamp: The `X-Webhook-Timestamp`, unix seconds.
        body: The raw request body.

    Returns:
        `sha256=` and the hex HMAC-SHA256 of `b"<timestamp>." + body`.
    """
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: bytes,
    timestamp: int | str,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float | None = 300,
    now: float | None = None,
) -> bool:
    """Check a webhook's signature as a receiver would.

    Args:
        secret: The shared signing secret.
        timestamp: The `X-Webhook-Timestamp` header.
        body: The raw request body.
        signature: The `X-Webhook-Signature` header.
        tolerance_s: Refuse timestamps further than this from `now`, against
            replays; None skips the check.
        now: Unix time to compare with; defaults to now.

    Returns:
        True when the signature matches the body and timestamp.
    """
    try:
        seconds = int(timestamp)
    except ValueError:
        return False
    if tolerance_s is not None:
        current = time.time() if now is None else now
        if abs(current - seconds) > tolerance_s:
            return False
    return hmac.compare_digest(sign(secret, seconds, body), signature)


class WebhookSender:
    """Signed webhook deliveries to subscribers' URLs."""

    def __init__(self, *, secret: bytes | None, timeout: httpx.Timeout) -> None:
        self._secret = secret
        self._poster = _JsonPoster("webhook", timeout)

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "WebhookSender":
        """Build the sender from the service's settings."""
        secret = settings.webhook_signing_secret
        return cls(
            secret=secret.get_secret_value().encode() if secret is not None else None,
            timeout=_timeout(settings),
        )

    async def deliver(
        self, *, url: str, event: str, event_id: str, payload: dict[str, Any]
    ) -> dict[str, Any]:
        """POST an event, signed, to a subscriber.

        The body is `{"event", "eventId", "payload", "deliveredAt"}`; the
        headers `X-Webhook-Timestamp`, `X-Webhook-Id` (the event id, for the
        receiver to drop repeats) and `X-Webhook-Signature` (see `sign`).

        Args:
            url: The subscriber's URL.
            event: The event's name.
            event_id: The event's id.
            payload: The event's data.

        Returns:
            `status_code` of the subscriber's 2xx answer.

        Raises:
            ProviderNotConfigured: WEBHOOK_SIGNING_SECRET is unset.
            ProviderRejected: the subscriber answered 3xx or 4xx (not 408/429).
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
        response = await self._poster.post(
            url,
            content=body,
            headers={
                "X-Webhook-Timestamp": str(timestamp),
                "X-Webhook-Id": event_id,
                "X-Webhook-Signature": sign(self._secret, timestamp, body),
            },
        )
        return {"status_code": response.status_code}

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        await self._poster.aclose()
