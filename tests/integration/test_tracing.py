"""One trace from an HTTP request to its job's provider calls, with the SDK's in-memory exporter.

The API and a worker run in this process (the exporter is in memory), on the
real database, against the fake Twilio over HTTP.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from psycopg.types.json import Jsonb

from app.observability import tracing
from app.settings import ProviderSettings
from tests.fakes.fixtures import settings_for_fakes
from tests.helpers.api import api_client, auth
from workers.runtime import WorkerConfig, run_worker_process

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{CALLER_SPAN}-01"
SMS = {"to": "+14155550101", "message": "Doors open at 7", "template": "reminder"}


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure([exporter], service_name="queue-service-test", batch=False)
    yield exporter
    tracing.shutdown()


@contextlib.asynccontextmanager
async def worker(dsn: str, providers: ProviderSettings) -> AsyncIterator[None]:
    """A worker of the communication queue, in this process and event loop."""
    config = WorkerConfig(
        dsn=dsn,
        queues=["communication"],
        poll_interval_s=0.2,
        heartbeat_s=1,
        shutdown_grace_s=5,
        providers=providers,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker_process(config, stop=stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def job_status(dsn: str, job_id: int) -> str:
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        row = await (
            await conn.execute(
                "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job_id,)
            )
        ).fetchone()
    assert row is not None
    return str(row[0])


async def until_ended(dsn: str, job_id: int) -> str:
    # Polled: the job ends in the worker's transaction, not in an event here.
    async with asyncio.timeout(30):
        while True:
            status = await job_status(dsn, job_id)
            if status not in ("todo", "doing"):
                return status
            await asyncio.sleep(0.1)


async def enqueue_sms_in_sql(dsn: str, traceparent: str) -> int:
    """Enqueue an SMS as a SQL producer does, its trace context in `meta`."""
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        row = await (
            await conn.execute(
                "SELECT job_id FROM queue.enqueue('communication', 'send-sms', %s,"
                " meta => %s)",
                (Jsonb(SMS), Jsonb({"traceparent": traceparent})),
            )
        ).fetchone()
    assert row is not None
    return int(row[0])


def one(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [span for span in spans.get_finished_spans() if span.name == name]
    assert len(found) == 1, [span.name for span in spans.get_finished_spans()]
    return found[0]


def parent_of(span: ReadableSpan) -> str:
    assert span.parent is not None, f"{span.name} has no parent"
    return format(span.parent.span_id, "016x")


def span_id(span: ReadableSpan) -> str:
    return format(span.context.span_id, "016x")


async def test_request_enqueue_run_and_provider_call_form_one_trace(
    db_dsn, spans, fake_twilio
):
    providers = settings_for_fakes(twilio=fake_twilio)
    async with api_client(db_dsn, providers=providers) as client:
        response = await client.post(
            "/api/v1/queue/jobs",
            json={"queue": "communication", "type": "send-sms", "data": SMS},
            headers={**auth("admin"), "traceparent": TRACEPARENT},
        )
    assert response.status_code == 201, response.text
    job_id = response.json()["jobId"]
    async with worker(db_dsn, providers):
        assert await until_ended(db_dsn, job_id) == "succeeded"

    server = one(spans, "POST /api/v1/queue/jobs")
    enqueue = one(spans, "enqueue")
    run = one(spans, "run send-sms")
    call = one(spans, "twilio send")
    for span in (server, enqueue, run, call):
        assert format(span.context.trace_id, "032x") == TRACE_ID, span.name
    # Each is the child of the one before it; the first, of the caller's span.
    assert server.kind is SpanKind.SERVER and parent_of(server) == CALLER_SPAN
    assert enqueue.kind is SpanKind.PRODUCER and parent_of(enqueue) == span_id(server)
    assert run.kind is SpanKind.CONSUMER and parent_of(run) == span_id(enqueue)
    assert call.kind is SpanKind.CLIENT and parent_of(call) == span_id(run)
    assert run.attributes is not None
    assert run.attributes["messaging.message.id"] == str(job_id)
    assert run.attributes["queue_service.job_type"] == "send-sms"
    assert call.attributes is not None
    assert call.attributes["queue_service.provider"] == "twilio"
    assert len(fake_twilio.messages) == 1
    # The job carries the enqueue span's context, not the caller's.
    async with await psycopg.AsyncConnection.connect(db_dsn) as conn:
        row = await (
            await conn.execute(
                "SELECT args->'meta'->>'traceparent' FROM procrastinate_jobs WHERE id = %s",
                (job_id,),
            )
        ).fetchone()
    assert row == (f"00-{TRACE_ID}-{span_id(enqueue)}-01",)


async def test_a_sql_producers_traceparent_is_the_runs_parent(
    db_dsn, spans, fake_twilio
):
    job_id = await enqueue_sms_in_sql(db_dsn, TRACEPARENT)
    async with worker(db_dsn, settings_for_fakes(twilio=fake_twilio)):
        assert await until_ended(db_dsn, job_id) == "succeeded"
    run = one(spans, "run send-sms")
    assert format(run.context.trace_id, "032x") == TRACE_ID
    assert parent_of(run) == CALLER_SPAN
    assert parent_of(one(spans, "twilio send")) == span_id(run)


async def test_a_failed_call_marks_its_spans_without_the_numbers_it_quotes(
    db_dsn, spans, fake_twilio
):
    # Twilio refuses the number, quoting it: a permanent failure.
    fake_twilio.fail_next(
        1,
        400,
        body={
            "code": 21211,
            "message": f"Invalid 'To' Phone Number: {SMS['to']}",
            "status": 400,
        },
    )
    job_id = await enqueue_sms_in_sql(db_dsn, TRACEPARENT)
    async with worker(db_dsn, settings_for_fakes(twilio=fake_twilio)):
        assert await until_ended(db_dsn, job_id) == "failed"
    run, call = one(spans, "run send-sms"), one(spans, "twilio send")
    for span in (run, call):
        assert span.status.status_code is StatusCode.ERROR, span.name
        [event] = [event for event in span.events if event.name == "exception"]
        assert event.attributes is not None
        message = str(event.attributes["exception.message"])
        assert "Invalid 'To' Phone Number" in message, message
        assert SMS["to"] not in message


async def test_an_invalid_traceparent_starts_a_new_trace(db_dsn, spans, fake_twilio):
    job_id = await enqueue_sms_in_sql(db_dsn, "00-zz\x01-" + "9" * 600)
    async with worker(db_dsn, settings_for_fakes(twilio=fake_twilio)):
        assert await until_ended(db_dsn, job_id) == "succeeded"
    run = one(spans, "run send-sms")
    assert run.parent is None
    assert format(run.context.trace_id, "032x") != TRACE_ID


async def test_off_by_default_no_span_and_no_trace_in_meta(db_dsn, fake_twilio):
    assert not tracing.enabled()
    async with api_client(db_dsn) as client:
        response = await client.post(
            "/api/v1/queue/jobs",
            json={"queue": "communication", "type": "send-sms", "data": SMS},
            headers={**auth("admin"), "traceparent": TRACEPARENT},
        )
    assert response.status_code == 201, response.text
    async with await psycopg.AsyncConnection.connect(db_dsn) as conn:
        row = await (
            await conn.execute(
                "SELECT args->'meta' ? 'traceparent' FROM procrastinate_jobs WHERE id = %s",
                (response.json()["jobId"],),
            )
        ).fetchone()
    assert row == (False,)
