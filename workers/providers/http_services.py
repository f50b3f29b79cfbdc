"""The plain-HTTP providers: the minting service and push notifications.

Each is a small client over one `aiohttp.ClientSession` (see
`workers.providers.json_poster`) with connect and read timeouts, no retries
(the queue retries) and no redirects. Answers are classified by the taxonomy
of `workers.providers.errors`; a 4xx's code is `http_<status>`.
"""

import json
from typing import Any

from app.settings import ProviderSettings
from workers.providers.errors import ProviderUnavailable, not_configured
from workers.providers.json_poster import JsonPoster, Timeouts


class MintingProvider:
    """The internal minting service: `POST {MINTING_URL}/mint`."""

    def __init__(self, *, url: str | None, timeout: Timeouts) -> None:
        self._url = url.rstrip("/") if url else None
        self._poster = JsonPoster("minting", timeout)

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "MintingProvider":
        """Build the provider from the service's settings."""
        return cls(url=settings.minting_url, timeout=Timeouts.of(settings))

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
                f"minting answered HTTP {response.status} without {' and '.join(absent)}",
                provider="minting",
                http_status=response.status,
            )
        return result

    async def aclose(self) -> None:
        """Close the HTTP connections, if any were opened."""
        await self._poster.aclose()


class PushProvider:
    """The push notification service: `POST {PUSH_URL}/send`."""

    def __init__(self, *, url: str | None, timeout: Timeouts) -> None:
        self._url = url.rstrip("/") if url else None
        self._poster = JsonPoster("push", timeout)

    @classmethod
    def from_settings(cls, settings: ProviderSettings) -> "PushProvider":
        """Build the provider from the service's settings."""
        return cls(url=settings.push_url, timeout=Timeouts.of(settings))

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
