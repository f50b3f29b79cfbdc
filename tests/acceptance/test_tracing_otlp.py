"""Real API and worker processes export one trace over OTLP to a local receiver."""

import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from app.api.auth import issue_token
from app.domain.access import Role
from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.workers import (
    ROOT,
    free_port,
    provider_env,
    query,
    wait_for,
    worker_env,
    worker_process,
)
from tests.ops import processes

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"
SMS = {"to": "+14155550102", "message": "Gates open", "template": "reminder"}


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str


class OtlpReceiver(http.server.ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver on loopback that keeps what it is sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _OtlpHandler)
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of_trace(self, trace_id: str) -> list[ReceivedSpan]:
        with self.lock:
            return [span for span in self.spans if span.trace_id == trace_id]


class _OtlpHandler(http.server.BaseHTTPRequestHandler):
    server: OtlpReceiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path != "/v1/traces":
            self.send_error(404)
            return
        request = ExportTraceServiceRequest.FromString(body)
        received = []
        for resource_spans in request.resource_spans:
            service = next(
                attribute.value.string_value
                for attribute in resource_spans.resource.attributes
                if attribute.key == "service.name"
            )
            for scope_spans in resource_spans.scope_spans:
                received.extend(
                    ReceivedSpan(
                        service,
                        span.name,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                    )
                    for span in scope_spans.spans
                )
        with self.server.lock:
            self.server.spans.extend(received)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    server = OtlpReceiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def otel_env(receiver: OtlpReceiver) -> dict[str, str]:
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }


def test_api_and_worker_export_one_trace_to_an_otlp_receiver(
    db_dsn, tmp_path, receiver, fake_twilio
):
    env = otel_env(receiver)
    token = issue_token(
        secret=processes.JWT_SECRET, role=Role.ADMIN, sub="ops", ttl=timedelta(hours=1)
    )
    with processes.api(db_dsn, tmp_path, free_port(), **env) as base:
        status, body = processes.post(
            f"{base}/api/v1/queue/jobs",
            {"queue": "communication", "type": "send-sms", "data": SMS},
            headers={"Authorization": f"Bearer {token}", "traceparent": TRACEPARENT},
        )
        assert status == 201, body
        wait_for(
            lambda: (
                {span.name for span in receiver.of_trace(TRACE_ID)}
                >= {"POST /api/v1/queue/jobs", "enqueue"}
            ),
            what="the API's spans",
        )
    worker = {**env, **provider_env(settings_for_fakes(twilio=fake_twilio))}
    with worker_process(db_dsn, tmp_path, "--queues", "communication", **worker):
        wait_for(
            lambda: (
                query(
                    db_dsn,
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'",
                )
                == [(1,)]
            ),
            what="the SMS job to succeed",
        )
        wait_for(
            lambda: len(receiver.of_trace(TRACE_ID)) >= 4, what="the worker's spans"
        )

    spans = {span.name: span for span in receiver.of_trace(TRACE_ID)}
    server, enqueue = spans["POST /api/v1/queue/jobs"], spans["enqueue"]
    run, call = spans["run send-sms"], spans["twilio send"]
    assert (server.service, enqueue.service) == ("queue-service-api",) * 2
    assert (run.service, call.service) == ("queue-service-worker",) * 2
    assert server.parent_span_id == "b7ad6b7169203331"
    assert enqueue.parent_span_id == server.span_id
    assert run.parent_span_id == enqueue.span_id
    assert call.parent_span_id == run.span_id


def test_an_exporter_the_service_does_not_ship_stops_the_worker_at_start(db_dsn):
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=worker_env(db_dsn, OTEL_TRACES_EXPORTER="zipkin"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "OTEL_TRACES_EXPORTER names zipkin" in result.stderr
