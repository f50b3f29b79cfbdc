"""The test helpers the client ships for its users: recording clients and assertions."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from queue_service_client import (
    AnalyticsTrack,
    AsyncQueueClient,
    BatchRejected,
    Dependency,
    IdempotencyKeyReused,
    InvalidDependency,
    InvalidJobData,
    JobTypeNotInQueue,
    PaymentProcess,
    QueueClient,
    SendEmail,
    SendSms,
    job,
)
from queue_service_client.sql import enqueue_sql
from queue_service_client.testing import (
    AsyncRecordingClient,
    RecordedJob,
    RecordingClient,
    assert_enqueued_sql,
    refute_enqueued_sql,
)

VENUE = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e01")
USER = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e02")
EVENT = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e03")


def payment(**changes: object) -> PaymentProcess:
    fields: dict[str, object] = {
        "venue_id": VENUE,
        "user_id": USER,
        "event_id": EVENT,
        "amount": 1500,
        "payment_method_id": "pm_1",
    }
    return PaymentProcess(**{**fields, **changes})


@pytest.fixture
def recorder() -> RecordingClient:
    return RecordingClient()


# What code under test sees.


@pytest.mark.unit
def test_recording_enqueue_answers_like_the_service(recorder):
    first = recorder.enqueue(payment())
    second = recorder.enqueue("analytics-track", {"eventType": "x"}, priority=4)

    assert (first.job_id, first.queue, first.job_type, first.status) == (
        1,
        "money",
        "payment-process",
        "queued",
    )
    assert second.job_id == 2 and second.options.priority == 4
    assert [j.job_id for j in recorder.jobs] == [1, 2]


@pytest.mark.unit
def test_recording_enqueue_validates_known_types_like_the_service(recorder):
    with pytest.raises(InvalidJobData) as raised:
        recorder.enqueue("payment-process", {"amount": -1, "note": "kept"})

    pointers = {e.pointer for e in raised.value.errors}
    assert "/data/amount" in pointers and "/data/userId" in pointers
    # The service keeps keys its models do not name: so does the recorder.
    assert "/data/note" not in pointers
    assert raised.value.status == 422
    assert recorder.jobs == ()


@pytest.mark.unit
def test_recording_enqueue_refuses_nul_and_the_wrong_queue(recorder):
    with pytest.raises(InvalidJobData, match="NUL"):
        recorder.enqueue("custom-type", {"a": ["x\x00"]}, queue="background")
    with pytest.raises(JobTypeNotInQueue):
        recorder.enqueue(AnalyticsTrack(event_type="x"), queue="money")
    with pytest.raises(ValueError, match="give its queue"):
        recorder.enqueue("custom-type", {"a": 1})


@pytest.mark.unit
def test_recording_enqueue_idempotency(recorder):
    first = recorder.enqueue(AnalyticsTrack(event_type="a"), idempotency_key="k")
    again = recorder.enqueue(AnalyticsTrack(event_type="a"), idempotency_key="k")
    assert (again.job_id, again.duplicate) == (first.job_id, True)
    with pytest.raises(IdempotencyKeyReused) as raised:
        recorder.enqueue(AnalyticsTrack(event_type="b"), idempotency_key="k")
    assert raised.value.job_id == first.job_id
    assert len(recorder.jobs) == 1


@pytest.mark.unit
def test_recording_dependencies_must_exist(recorder):
    with pytest.raises(InvalidDependency):
        recorder.enqueue(AnalyticsTrack(event_type="x"), depends_on=[99])


@pytest.mark.unit
def test_recording_enqueue_many_like_the_service(recorder):
    result = recorder.enqueue_many(
        [AnalyticsTrack(event_type="1"), job("analytics-track", {})]
    )
    assert (result.successful, result.failed) == (1, 1)
    assert result.errors[0].errors[0]["pointer"] == "/jobs/1/data/eventType"
    with pytest.raises(BatchRejected):
        recorder.enqueue_many(
            [AnalyticsTrack(event_type="2"), job("analytics-track", {})],
            stop_on_error=True,
        )
    assert len(recorder.enqueued(AnalyticsTrack)) == 1


# Assertions.


@pytest.mark.unit
def test_assert_enqueued_matches_a_data_subset_by_either_name(recorder):
    recorder.enqueue(payment(amount=2000))

    found = recorder.assert_enqueued("payment-process", amount=2000, user_id=USER)
    assert isinstance(found, RecordedJob) and found.job_id == 1
    assert recorder.assert_enqueued(PaymentProcess, userId=str(USER)) is found
    assert found.payload(PaymentProcess) == payment(amount=2000)
    recorder.refute_enqueued(PaymentProcess, amount=1)


@pytest.mark.unit
def test_assert_enqueued_failure_lists_what_was_enqueued(recorder):
    recorder.enqueue(SendEmail(to="a@example.com", template="welcome"))
    recorder.enqueue(SendEmail(to="b@example.com", template="welcome"))

    with pytest.raises(AssertionError) as raised:
        recorder.assert_enqueued(SendEmail, to="c@example.com")
    message = str(raised.value)
    assert 'no send-email job with data containing {"to": "c@example.com"}' in message
    assert "send-email jobs enqueued (2):" in message
    assert 'to: "a@example.com" != "c@example.com"' in message

    with pytest.raises(AssertionError, match="jobs enqueued: send-email"):
        recorder.assert_enqueued(SendSms)


@pytest.mark.unit
def test_refute_enqueued_failure_names_the_job(recorder):
    recorder.enqueue(AnalyticsTrack(event_type="seen", properties={"tags": ["a", "b"]}))
    recorder.assert_enqueued(AnalyticsTrack, properties={"tags": ["b"]})
    with pytest.raises(AssertionError, match="job 1"):
        recorder.refute_enqueued(AnalyticsTrack, event_type="seen")


# Running jobs inline.


@pytest.mark.unit
def test_run_inline_hands_each_job_its_model_and_marks_it_done(recorder):
    recorder.enqueue(SendEmail(to="a@example.com", template="t"))
    recorder.enqueue(SendEmail(to="b@example.com", template="t"))
    recorder.enqueue(AnalyticsTrack(event_type="other"))
    sent: list[str] = []

    ran = recorder.run_inline(SendEmail, lambda email: sent.append(email.to))

    assert sent == ["a@example.com", "b@example.com"]
    assert [j.state for j in ran] == ["completed", "completed"]
    assert recorder.get(3).state == "waiting"
    assert recorder.run_inline(SendEmail, lambda email: sent.append(email.to)) == []


@pytest.mark.unit
def test_run_inline_runs_chained_jobs_and_dependants(recorder):
    first = recorder.enqueue("step", {"n": 1}, queue="background")
    recorder.enqueue("step", {"n": 2}, queue="background", depends_on=[first.job_id])
    seen: list[object] = []

    def handle(recorded: RecordedJob) -> None:
        seen.append(recorded.data["n"])
        if recorded.data["n"] == 2:
            recorder.enqueue("step", {"n": 3}, queue="background")

    recorder.run_inline("step", handle)
    assert seen == [1, 2, 3]


@pytest.mark.unit
def test_run_inline_failure_fails_the_job_and_its_dependants(recorder):
    first = recorder.enqueue("step", {"n": 1}, queue="background")
    second = recorder.enqueue(
        "step", {"n": 2}, queue="background", depends_on=[first.job_id]
    )
    tolerant = recorder.enqueue(
        "step",
        {"n": 3},
        queue="background",
        depends_on=[Dependency(job_id=first.job_id, on_failure="run")],
    )

    def handle(recorded: RecordedJob) -> None:
        if recorded.data["n"] == 1:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        recorder.run_inline("step", handle)
    assert recorder.get(first.job_id).state == "failed"
    assert isinstance(recorder.get(first.job_id).error, RuntimeError)
    ran = recorder.run_inline("step", handle)
    assert [j.job_id for j in ran] == [tolerant.job_id]
    assert recorder.get(second.job_id).state == "failed"


@pytest.mark.unit
def test_run_inline_batch_callbacks_wait_for_their_batch(recorder):
    made = recorder.create_batch(
        [
            job("member", {"n": 0}, queue="background"),
            job("member", {"n": 1}, queue="background"),
        ],
        on_complete=job("done", {}, queue="background"),
        on_failure=job("failed", {}, queue="background"),
    )
    assert len(made.jobs) == 2
    assert recorder.run_inline("done", lambda j: None) == []

    recorder.run_inline("member", lambda j: None)
    assert [j.state for j in recorder.run_inline("done", lambda j: None)] == [
        "completed"
    ]
    assert recorder.run_inline("failed", lambda j: None) == []
    assert recorder.enqueued("failed")[0].state == "cancelled"


@pytest.mark.unit
def test_run_inline_on_failure_callback_runs_at_a_failure(recorder):
    recorder.create_batch(
        [job("member", {"n": 0}, queue="background")],
        on_failure=job("failed", {}, queue="background"),
    )
    recorder.run_inline("member", lambda j: 1 / 0, raise_errors=False)
    assert [j.state for j in recorder.run_inline("failed", lambda j: None)] == [
        "completed"
    ]


@pytest.mark.unit
def test_recording_batch_idempotency(recorder):
    first = recorder.create_batch([AnalyticsTrack(event_type="b")], idempotency_key="b")
    again = recorder.create_batch([AnalyticsTrack(event_type="b")], idempotency_key="b")
    assert again == first
    with pytest.raises(IdempotencyKeyReused):
        recorder.create_batch([AnalyticsTrack(event_type="c")], idempotency_key="b")


@pytest.mark.unit
async def test_async_recording_client_and_async_handlers():
    recorder = AsyncRecordingClient()
    made = await recorder.enqueue(SendSms(to="+15551234567", message="hi"))
    await recorder.enqueue_many([SendSms(to="+15551234568", message="yo")])
    await recorder.create_batch([SendSms(to="+15551234569", message="hey")])
    texts: list[str] = []

    async def send(sms: SendSms) -> None:
        texts.append(sms.message)

    ran = await recorder.run_inline(SendSms, send)
    assert texts == ["hi", "yo", "hey"]
    assert ran[0].job_id == made.job_id
    recorder.assert_enqueued(SendSms, to="+15551234567")


@pytest.mark.unit
def test_recording_clients_have_the_real_clients_enqueue_signatures():
    import inspect

    for real, fake in (
        (QueueClient, RecordingClient),
        (AsyncQueueClient, AsyncRecordingClient),
    ):
        for name in ("enqueue", "enqueue_many", "create_batch"):
            assert inspect.signature(getattr(real, name)) == inspect.signature(
                getattr(fake, name)
            ), name


# Assertions on a real database.


@pytest.fixture
def observer(db_dsn: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        yield conn


@pytest.mark.integration
def test_assert_enqueued_sql_failure_lists_the_types_jobs(observer):
    enqueue_sql(observer, SendEmail(to="a@example.com", template="welcome"))

    with pytest.raises(AssertionError) as raised:
        assert_enqueued_sql(observer, SendEmail, {"to": "z@example.com"})
    message = str(raised.value)
    assert 'no send-email job with data containing {"to": "z@example.com"}' in message
    assert 'to: "a@example.com" != "z@example.com"' in message
    with pytest.raises(AssertionError, match="jobs enqueued: send-email"):
        assert_enqueued_sql(observer, "send-sms")


@pytest.mark.integration
def test_assert_enqueued_sql_by_state_and_nested_subset(observer):
    made = enqueue_sql(
        observer, AnalyticsTrack(event_type="nested", properties={"a": {"b": [1, 2]}})
    )
    assert (
        assert_enqueued_sql(
            observer, AnalyticsTrack, {"properties": {"a": {"b": [2]}}}, state="todo"
        )
        == made.job_id
    )
    refute_enqueued_sql(
        observer, AnalyticsTrack, {"event_type": "nested"}, state="succeeded"
    )
    with pytest.raises(AssertionError, match=f"job {made.job_id}"):
        refute_enqueued_sql(observer, AnalyticsTrack, {"event_type": "nested"})
