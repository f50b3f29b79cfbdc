"""Which OTEL_* environments turn tracing on, and which are refused."""

import pytest

from app.observability import tracing


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, []),
        ({"OTEL_SERVICE_NAME": "api"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": " OTLP , console "}, ["otlp", "console"]),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, ["otlp"]),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318"}, ["otlp"]),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}, []),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, []),
    ],
)
def test_tracing_is_on_only_when_the_environment_asks(environ, exporters):
    assert tracing.wanted_exporters(environ) == exporters


def test_an_unknown_exporter_is_refused_by_name():
    with pytest.raises(tracing.TracingUnavailable, match="names jaeger"):
        tracing.wanted_exporters({"OTEL_TRACES_EXPORTER": "otlp,jaeger"})


def test_otlp_over_grpc_is_refused_with_the_port_to_use():
    with pytest.raises(tracing.TracingUnavailable, match="http/protobuf"):
        tracing.configure_from_env(
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            service_name="test",
        )
    assert not tracing.enabled()


def test_off_the_helpers_open_nothing_and_add_nothing():
    assert not tracing.enabled()
    with tracing.producer_span("enqueue", {}) as context:
        assert context == {}
    meta = {"user_id": "u"}
    assert tracing.with_trace(meta, context) is meta
    with tracing.span("run", tracing.SpanKind.CONSUMER, {}) as current:
        assert current is None


def test_a_callers_own_traceparent_wins():
    ours = {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
    theirs = {"traceparent": "00-" + "3" * 32 + "-" + "4" * 16 + "-01", "x": 1}
    assert tracing.with_trace(theirs, ours) == theirs
    assert tracing.with_trace({"x": 1}, ours) == {**ours, "x": 1}


@pytest.mark.parametrize(
    "meta", [None, [], {"traceparent": 7}, {"traceparent": "x" * 600}]
)
def test_meta_without_a_usable_traceparent_has_no_context(meta):
    assert tracing.job_context(meta) is None
