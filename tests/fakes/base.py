"""A recording HTTP server on 127.0.0.1 for provider fakes.

A fake runs `http.server.ThreadingHTTPServer` in a thread (HTTP/1.1 with
keep-alive, as SDK clients pool connections). It records every request, can
be told to fail the next requests or to answer slowly, and calls `on_answer`
once an answer is on the wire. Subclasses check auth and answer like their
provider.

Paths under `/__fake__/` control a fake from another process (see
`tests.fakes.process`); they are not recorded.
"""

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/__fake__/"


class Headers(Mapping[str, str]):
    """Request headers; names match case-insensitively."""

    def __init__(self, items: Mapping[str, str] | list[tuple[str, str]]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items = {name.lower(): value for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: Headers
    body: bytes
    json: Any
    form: dict[str, str]
    at: float
    wall: float

    def basic_auth(self) -> tuple[str, str] | None:
        """Return (user, password) of an HTTP Basic Authorization header."""
        value = self.headers.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        except ValueError:
            return None
        return user, password

    def bearer(self) -> str | None:
        """Return the token of a Bearer Authorization header."""
        value = self.headers.get("authorization", "")
        return value[7:] if value.startswith("Bearer ") else None

    def to_json(self) -> dict[str, Any]:
        """Return the request as JSON (for the control endpoint)."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "body": self.body.decode("utf-8", "replace"),
            "json": self.json,
            "form": self.form,
            "at": self.at,
            "wall": self.wall,
        }


@dataclass
class Answer:
    """An HTTP answer of a fake."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(
        cls, status: int, payload: Any, headers: Mapping[str, str] | None = None
    ) -> "Answer":
        return cls(
            status,
            json.dumps(payload).encode(),
            {"Content-Type": "application/json", **(headers or {})},
        )

    def copy(self) -> "Answer":
        return Answer(self.status, self.body, dict(self.headers))


@dataclass
class _Failure:
    remaining: int
    status: int
    body: Any
    headers: dict[str, str]
    path_prefix: str | None


def _as_answer(status: int, body: Any, headers: Mapping[str, str]) -> Answer:
    if isinstance(body, bytes):
        return Answer(status, body, dict(headers))
    if isinstance(body, str):
        return Answer(status, body.encode(), dict(headers))
    return Answer.json(status, body, headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], fake: "FakeServer") -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.accepted = 0  # connections accepted since start, for keep-alive tests
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
            self.accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout test) is not an error of the fake.
        logger.debug("fake connection error", exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffered, so an answer leaves in one write on flush: headers and body
    # in two small writes would wait on Nagle and delayed ACKs (~40 ms).
    wbufsize = -1
    # Idle keep-alive connections end after this; stop() ends them at once.
    timeout = 30
    server: _Server

    def do_GET(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeServer:
    """Base of the provider fakes. Use `start()`/`stop()` or `with`.

    Attributes:
        delay_s: Sleep this long before answering (for timeout tests).
        on_answer: Called with the request right after its answer was written
            and flushed to the socket.
    """

    name: ClassVar[str] = "fake"

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.delay_s = 0.0
        self.on_answer: Callable[[RecordedRequest], None] | None = None
        self._address = (host, port)
        self._lock = threading.RLock()
        # Answers that change state run one at a time, like a real API's
        # per-key locks; recording and delays do not wait for it.
        self._state_lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # Lifecycle

    def start(self) -> Self:
        """Bind an ephemeral port (or the given one) and serve in a thread."""
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and free the port."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with server.connections_lock:
            connections = list(server.connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def connections_accepted(self) -> int:
        """Return how many TCP connections the fake accepted since it started."""
        return self._server.accepted if self._server is not None else 0

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port."""
        assert self._server is not None, "the fake is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`."""
        return f"http://127.0.0.1:{self.port}"

    # Recording and failure injection

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        """The requests whose path starts with `path_prefix`."""
        return [r for r in self.requests if r.path.startswith(path_prefix)]

    def clear(self) -> None:
        """Forget recorded requests, pending failures and the fake's state."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
        with self._state_lock:
            self.reset_state()

    def fail_next(
        self,
        count: int,
        status: int,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer the next `count` requests (to `path_prefix`) with `status`.

        Args:
            count: How many requests fail.
            status: Their HTTP status.
            body: bytes, str or a JSON value; None uses the provider's error
                format (`error_body`).
            headers: Extra answer headers, such as `{"Retry-After": "2"}`.
            path_prefix: Only requests whose path starts with it.
        """
        with self._lock:
            self._failures.append(
                _Failure(
                    remaining=count,
                    status=status,
                    body=self.error_body(status) if body is None else body,
                    headers=dict(headers or {}),
                    path_prefix=path_prefix,
                )
            )

    # For subclasses

    def authenticate(self, request: RecordedRequest) -> Answer | None:
        """Return the provider's 401 answer, or None when auth is right."""
        return None

    def answer(self, request: RecordedRequest) -> Answer:
        """Answer an authenticated request (runs under the state lock)."""
        return Answer.json(404, {"error": "not found"})

    def error_body(self, status: int) -> Any:
        """The body of an injected failure, in the provider's format."""
        return {"error": f"injected failure {status}"}

    def state(self) -> dict[str, Any]:
        """A JSON summary of the fake's side effects (for the control endpoint)."""
        return {}

    def reset_state(self) -> None:
        """Forget side effects (runs under the state lock)."""

    # Serving

    def _take_failure(self, path: str) -> Answer | None:
        with self._lock:
            for failure in self._failures:
                if failure.path_prefix is None or path.startswith(failure.path_prefix):
                    failure.remaining -= 1
                    if failure.remaining <= 0:
                        self._failures.remove(failure)
                    return _as_answer(failure.status, failure.body, failure.headers)
        return None

    def _handle(self, handler: _Handler) -> None:
        parts = urlsplit(handler.path)
        body = _read_body(handler)
        headers = Headers(list(handler.headers.items()))
        if parts.path.startswith(CONTROL_PREFIX):
            self._write(handler, self._control(handler.command, parts.path, body))
            return
        request = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            body=body,
            json=_parse_json(headers, body),
            form=_parse_form(headers, body),
            at=time.monotonic(),
            wall=time.time(),
        )
        with self._lock:
            self._requests.append(request)
        if self.delay_s > 0:
            self._stopping.wait(self.delay_s)
        answer = self._take_failure(request.path) or self.authenticate(request)
        if answer is None:
            try:
                with self._state_lock:
                    answer = self.answer(request)
            except Exception:
                logger.exception("fake %s failed to answer", self.name)
                answer = Answer.json(500, {"error": "the fake failed"})
        if not self._write(handler, answer):
            return
        if self.on_answer is not None:
            try:
                self.on_answer(request)
            except Exception:
                logger.exception("on_answer of fake %s failed", self.name)

    def _write(self, handler: _Handler, answer: Answer) -> bool:
        try:
            handler.send_response(answer.status)
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(answer.body)))
            handler.end_headers()
            handler.wfile.write(answer.body)
            handler.wfile.flush()
        except OSError:
            # The client hung up (it timed out, or was killed).
            handler.close_connection = True
            return False
        return True

    def _control(self, method: str, path: str, body: bytes) -> Answer:
        command = path[len(CONTROL_PREFIX) :]
        payload = json.loads(body) if body else {}
        if method == "GET" and command == "requests":
            return Answer.json(200, [r.to_json() for r in self.requests])
        if method == "GET" and command == "state":
            with self._state_lock:
                return Answer.json(200, self.state())
        if method == "POST" and command == "fail_next":
            self.fail_next(
                int(payload["count"]),
                int(payload["status"]),
                body=payload.get("body"),
                headers=payload.get("headers"),
                path_prefix=payload.get("path_prefix"),
            )
            return Answer.json(200, {"ok": True})
        if method == "POST" and command == "delay":
            self.delay_s = float(payload["delay_s"])
            return Answer.json(200, {"ok": True})
        if method == "POST" and command == "clear":
            self.clear()
            return Answer.json(200, {"ok": True})
        return Answer.json(404, {"error": f"no control command {method} {command}"})


def _read_body(handler: _Handler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                handler.rfile.readline()  # the blank line after the last chunk
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _parse_json(headers: Headers, body: bytes) -> Any:
    if "json" not in headers.get("content-type", "") or not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


def _parse_form(headers: Headers, body: bytes) -> dict[str, str]:
    if "application/x-www-form-urlencoded" not in headers.get("content-type", ""):
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


def nested_form(form: Mapping[str, str]) -> dict[str, Any]:
    """Unflatten Stripe-style keys: `metadata[order]=1` → `{"metadata": {"order": "1"}}`."""
    result: dict[str, Any] = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        target = result
        for part in parts[:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    return result
