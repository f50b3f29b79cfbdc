"""POST JSON to an HTTP service and classify its answer.

One lazily opened `aiohttp.ClientSession` per client, kept alive across jobs
(aiohttp rather than httpx: about a tenth of the CPU per request, see
`workers.providers.sendgrid`). No redirects are followed: a 3xx is an answer
like any other and is rejected. A call is bounded as a whole, not only per
read, and so is the answer read back, so a slow or huge answer cannot hold a
slot or fill memory.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from app.settings import ProviderSettings
from workers.providers.destinations import DestinationPolicy, DestinationRefused
from workers.providers.errors import (
    ProviderRejected,
    ProviderUnavailable,
    error_for_status,
    unreachable,
)

_USER_AGENT = "queue-service"
# The services answer a few hundred bytes; more is read as no answer.
_MAX_ANSWER_BYTES = 1 << 20
# The start of an error body helps an operator; the whole may be a web page.
_ERROR_TEXT_CHARS = 200


@dataclass(frozen=True)
class Timeouts:
    """Seconds to connect, and to wait for the answer."""

    connect_s: float
    read_s: float

    @classmethod
    def of(cls, settings: ProviderSettings) -> "Timeouts":
        """PROVIDER_CONNECT_TIMEOUT_S and PROVIDER_TIMEOUT_S."""
        return cls(settings.provider_connect_timeout_s, settings.provider_timeout_s)


@dataclass(frozen=True)
class Answer:
    """A 2xx answer, read."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class JsonPoster:
    """POSTs JSON with one lazily opened session, and classifies the answer."""

    def __init__(
        self,
        provider: str,
        timeouts: Timeouts,
        *,
        destinations: DestinationPolicy | None = None,
        quote_error_answers: bool = True,
    ) -> None:
        """Open nothing yet: the session is made on the first post.

        Args:
            provider: The name errors carry (`minting`, `webhook`).
            timeouts: Connect and read timeouts.
            destinations: Checked on every socket before it connects; None
                for the operator's own URLs.
            quote_error_answers: Put the start of an error answer's body in
                the error. Off where the URL is a caller's: the error reaches
                the job's owner, and the body is what their URL's server said.
        """
        self._provider = provider
        self._timeout = aiohttp.ClientTimeout(
            total=timeouts.connect_s + timeouts.read_s,
            sock_connect=timeouts.connect_s,
            sock_read=timeouts.read_s,
        )
        self._destinations = destinations
        self._quote_error_answers = quote_error_answers
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                socket_factory=self._destinations.socket_factory()
                if self._destinations is not None
                else None
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                headers={"User-Agent": _USER_AGENT},
            )
        return self._session

    async def post(
        self, url: str, *, content: bytes, headers: dict[str, str]
    ) -> Answer:
        """POST `content` as JSON.

        Raises:
            ProviderRejected: the URL is not http(s), its destination is
                refused, or the answer is a 3xx or 4xx (not 408/429).
            ProviderError: see `workers.providers.errors`.
        """
        try:
            async with self._open().post(
                url,
                data=content,
                headers={"Content-Type": "application/json", **headers},
                allow_redirects=False,
            ) as response:
                body = await _read_at_most(response, _MAX_ANSWER_BYTES)
                answer = Answer(response.status, response.headers, body)
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError, ValueError) as exc:
            # A bad URL stays bad: no retry can deliver to it.
            raise ProviderRejected(
                f"{self._provider} URL is not a valid http(s) URL ({type(exc).__name__})",
                provider=self._provider,
                code="invalid_url",
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, DestinationRefused):
                raise ProviderRejected(
                    f"{self._provider} URL refused: {exc.os_error.strerror}",
                    provider=self._provider,
                    code="destination_refused",
                ) from exc
            raise unreachable(self._provider, exc) from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise unreachable(self._provider, exc) from exc
        if not 200 <= answer.status < 300:
            raise error_for_status(
                provider=self._provider,
                http_status=answer.status,
                headers=answer.headers,
                code=f"http_{answer.status}",
                message=self._error_text(answer.body),
            )
        return answer

    def _error_text(self, body: bytes) -> str | None:
        if not self._quote_error_answers:
            return None
        text = body[: _ERROR_TEXT_CHARS * 4].decode("utf-8", "replace").strip()
        return text[:_ERROR_TEXT_CHARS] or None

    def json_object(self, answer: Answer) -> dict[str, Any]:
        """The answer's JSON object.

        Raises:
            ProviderUnavailable: the body is not one.
        """
        try:
            body = json.loads(answer.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ProviderUnavailable(
                f"{self._provider} answered HTTP {answer.status} without a JSON object",
                provider=self._provider,
                http_status=answer.status,
            )
        return body

    async def aclose(self) -> None:
        """Close the session's connections, if any were opened."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _read_at_most(response: aiohttp.ClientResponse, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            # The rest stays unread; aiohttp closes the connection.
            break
    return b"".join(chunks)[:limit]
