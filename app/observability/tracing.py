"""OpenTelemetry tracing: off unless the standard `OTEL_*` variables turn it on.

One trace follows a job from the HTTP request that enqueued it to each
provider call of its run: the API's server span (Litestar's middleware), an
`enqueue` span around the database call, whose context travels in the job's
`meta.traceparent` (W3C trace context), the worker's `run <type>` span, child
of that context, and a client span per provider call. A SQL producer that puts
its own `traceparent` in `meta` continues its trace the same way.

Tracing is on when `OTEL_TRACES_EXPORTER` names an exporter (`otlp`,
`console`) or an OTLP endpoint variable is set; `OTEL_TRACES_EXPORTER=none`
or `OTEL_SDK_DISABLED=true` keep it off. Everything else (endpoint, headers,
sampler, batch timings, `OTEL_SERVICE_NAME`, resource attributes) is read by
the OpenTelemetry SDK itself. The SDK and the OTLP exporter are the `tracing`
extra; a process asked to trace without them stops at start, naming the extra.

Off, every helper here returns at its first line: no span, no context, no
meta key, so the hot path pays one attribute read.
"""

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from app.observability.logging import redact

__all__ = [
    "SpanKind",
    "TracingUnavailable",
    "configure",
    "configure_from_env",
    "enabled",
    "job_context",
    "producer_span",
    "record_failure",
    "span",
    "tracer_provider",
    "with_trace",
]

INSTRUMENTATION = "queue-service"
# The meta keys a job's trace context travels in (W3C trace context headers).
META_KEYS = ("traceparent", "tracestate")
_OTLP_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_EXPORTERS = {"otlp", "console"}
_PROPAGATOR = TraceContextTextMapPropagator()
_MAX_MESSAGE = 500


class TracingUnavailable(RuntimeError):
    """Tracing was asked for but cannot be set up (missing extra, unknown exporter)."""


class _State:
    provider: Any = None  # an SDK TracerProvider once configured
    tracer: Tracer | None = None


_state = _State()


def enabled() -> bool:
    """Return whether this process records spans."""
    return _state.tracer is not None


def tracer_provider() -> Any:
    """Return the SDK tracer provider, or None when tracing is off."""
    return _state.provider


def wanted_exporters(environ: Mapping[str, str]) -> list[str]:
    """Return the exporters the environment asks for; empty: tracing stays off."""
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    names = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    if not names:
        return ["otlp"] if any(environ.get(key) for key in _OTLP_ENDPOINTS) else []
    if "none" in names:
        return []
    unknown = sorted(set(names) - _EXPORTERS)
    if unknown:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER names {', '.join(unknown)}; "
            f"this service exports to {', '.join(sorted(_EXPORTERS))} or none"
        )
    return names


def configure_from_env(environ: Mapping[str, str], *, service_name: str) -> bool:
    """Set tracing up as the environment asks; return whether it is on.

    `service_name` is used when `OTEL_SERVICE_NAME` (or the resource
    attributes) does not name the service.

    Raises:
        TracingUnavailable: an unknown exporter, an OTLP protocol other than
            http/protobuf, or the `tracing` extra is not installed.
    """
    names = wanted_exporters(environ)
    if not names:
        return False
    protocol = environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    )
    if "otlp" in names and protocol != "http/protobuf":
        raise TracingUnavailable(
            f"OTEL_EXPORTER_OTLP_PROTOCOL is {protocol!r}; this service exports "
            "OTLP over http/protobuf (a collector's port 4318)"
        )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter
    except ImportError as exc:
        raise TracingUnavailable(
            "tracing is asked for (OTEL_* variables) but the OpenTelemetry SDK "
            "is not installed: install queue-service[tracing]"
        ) from exc
    exporters = [
        OTLPSpanExporter() if name == "otlp" else ConsoleSpanExporter()
        for name in names
    ]
    configure(exporters, service_name=service_name, batch=True)
    return True


def configure(exporters: list[Any], *, service_name: str, batch: bool = True) -> None:
    """Record spans to `exporters` from now on (tests pass an in-memory one).

    `batch` exports from a background thread (production); False exports each
    span as it ends, so a test reads it at once.
    """
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)  # OTEL_TRACES_SAMPLER
    for exporter in exporters:
        processor = BatchSpanProcessor if batch else SimpleSpanProcessor
        provider.add_span_processor(processor(exporter))
    shutdown()
    _state.provider = provider
    _state.tracer = provider.get_tracer(INSTRUMENTATION)


def shutdown() -> None:
    """Export what is pending and stop recording (at a process's end)."""
    provider, _state.provider, _state.tracer = _state.provider, None, None
    if provider is not None:
        provider.shutdown()


@contextlib.contextmanager
def producer_span(name: str, attributes: Mapping[str, Any]) -> Iterator[dict[str, str]]:
    """Open an enqueue span; yield the trace context its jobs carry.

    Only under a current span (a request's, a job run's): an enqueue outside
    any, such as the API's grouped write of jobs whose requests each opened
    their own span (`app.services.group_enqueue`), opens none and yields an
    empty context, so it starts no trace of its own. Off, it yields {} too.
    """
    tracer = _state.tracer
    if tracer is None or not trace.get_current_span().get_span_context().is_valid:
        yield {}
        return
    with tracer.start_as_current_span(
        name, kind=SpanKind.PRODUCER, attributes=dict(attributes)
    ):
        carrier: dict[str, str] = {}
        _PROPAGATOR.inject(carrier)
        yield carrier


def with_trace(meta: dict[str, Any], carrier: dict[str, str]) -> dict[str, Any]:
    """Return `meta` with the trace context added; a caller's own context wins."""
    if not carrier or "traceparent" in meta:
        return meta
    return {**carrier, **meta}


def job_context(meta: Any) -> Context | None:
    """Return the trace context a job's meta carries, if any.

    The values are the producer's (an HTTP caller's header, a SQL producer's
    text): anything that is not a valid W3C traceparent starts a new trace.
    """
    if not isinstance(meta, dict):
        return None
    carrier = {
        key: value
        for key in META_KEYS
        if isinstance(value := meta.get(key), str) and len(value) <= 512
    }
    return _PROPAGATOR.extract(carrier) if carrier else None


@contextlib.contextmanager
def span(
    name: str,
    kind: SpanKind,
    attributes: Mapping[str, Any],
    *,
    parent: Context | None = None,
) -> Iterator[trace.Span | None]:
    """Open a span as the current one; yield it (None when tracing is off).

    Errors are not recorded here: the caller says what a failure is
    (`record_failure`), since a job that waits for a limit did not fail.
    """
    tracer = _state.tracer
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        name,
        context=parent,
        kind=kind,
        attributes=dict(attributes),
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        yield current


def record_failure(current: trace.Span | None, exc: BaseException) -> None:
    """Mark `current` failed by `exc`: its type and redacted message, no stack.

    Provider errors quote what they refused (a phone number, an address): a
    span leaves the service for the collector, so it gets what a log line gets.
    """
    if current is None:
        return
    message = redact(str(exc))[:_MAX_MESSAGE]
    current.add_event(
        "exception",
        {"exception.type": type(exc).__name__, "exception.message": message},
    )
    current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
