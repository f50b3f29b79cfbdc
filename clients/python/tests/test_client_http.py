"""The HTTP clients against a real `queue-service serve` process."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from queue_service_client import (
    AnalyticsTrack,
    AsyncQueueClient,
    BatchNotFound,
    BatchRejected,
    Dependency,
    Forbidden,
    IdempotencyKeyReused,
    InvalidDependency,
    InvalidJobData,
    InvalidJobTransition,
    JobNotFound,
    NotFound,
    PaymentProcess,
    QueueClient,
    QueueServiceError,
    RefundProcess,
    SendEmail,
    TransportError,
    Unauthorized,
    UnknownJobType,
    UnknownQueue,
    job,
)
from tests.helpers.api import token
from tests.helpers.workers import free_port

pytestmark = pytest.mark.acceptance

VENUE = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e01")
EVENT = uuid.UUID("8d7f0a8e-1111-4c3b-9a55-0e0e0e0e0e03")


def payment(amount: int = 1500, **changes: object) -> PaymentProcess:
    fields: dict[str, object] = {
        "venue_id": VENUE,
        "user_id": uuid.uuid4(),
        "event_id": EVENT,
        "amount": amount,
        "payment_method_id": "pm_card_visa",
    }
    return PaymentProcess(**{**fields, **changes})


def test_enqueue_typed_payload_infers_type_and_queue(client: QueueClient):
    made = client.enqueue(payment())

    assert made.job_type == "payment-process"
    assert made.queue == "money"
    assert made.status == "queued" and not made.duplicate
    assert made.job_id > 0
    fetched = client.get_job(made.job_id)
    assert fetched.id == made.job_id
    assert fetched.state == "waiting"
    assert isinstance(fetched.data, dict) and fetched.data["amount"] == 1500


def test_enqueue_sends_every_option(client: QueueClient):
    first = client.enqueue(AnalyticsTrack(event_type="seen"))
    made = client.enqueue(
        AnalyticsTrack(event_type="options"),
        priority=7,
        delay=timedelta(minutes=5),
        attempts=2,
        ordering_key="order-1",
        concurrency_key="venue:1",
        depends_on=[first.job_id],
        idempotency_key=f"options-{uuid.uuid4()}",
        unique_while="active",
        on_duplicate="replace",
        request_id="client-test.options",
    )

    assert made.options.priority == 7
    assert made.options.delay_ms == 300_000
    assert made.options.attempts == 2
    assert made.options.ordering_key == "order-1"
    assert made.options.concurrency_key == "venue:1"
    assert made.options.depends_on == (Dependency(job_id=first.job_id),)
    assert made.options.unique_while == "active"
    assert made.options.on_duplicate == "replace"
    fetched = client.get_job(made.job_id)
    assert fetched.priority == 7
    assert fetched.request_id == "client-test.options"
    assert fetched.concurrency_key == "venue:1"
    assert fetched.state == "waiting-children" and fetched.waiting_for == 1


def test_enqueue_run_at_is_sent_as_a_delay(client: QueueClient):
    at = datetime.now(UTC) + timedelta(hours=1)
    made = client.enqueue(AnalyticsTrack(event_type="later"), run_at=at)

    fetched = client.get_job(made.job_id)
    assert fetched.state == "delayed"
    assert fetched.scheduled_for is not None
    assert abs(fetched.scheduled_for - at) < timedelta(seconds=30)


def test_enqueue_generic_job_type_the_client_does_not_know(client: QueueClient):
    # A type an operator added in SQL (the suite's test types): admin only.
    made = client.enqueue(
        "test-record-background", {"value": "generic"}, queue="background"
    )

    assert made.job_type == "test-record-background"
    assert client.get_job(made.job_id).data == {"value": "generic"}


def test_enqueue_generic_known_type_takes_its_queue(client: QueueClient):
    made = client.enqueue("analytics-track", {"eventType": "generic-known"})
    assert made.queue == "background"


def test_enqueue_generic_unknown_type_without_queue_is_refused_before_sending(
    client: QueueClient,
):
    with pytest.raises(ValueError, match="give its queue"):
        client.enqueue("operator-type", {"a": 1})


def test_enqueue_idempotent_replay_returns_the_same_job(client: QueueClient):
    key = f"replay-{uuid.uuid4()}"
    data = payment()
    first = client.enqueue(data, idempotency_key=key)
    again = client.enqueue(data, idempotency_key=key)

    assert again.job_id == first.job_id
    assert again.duplicate and not first.duplicate


def test_enqueue_template_key_replay_is_a_duplicate(client: QueueClient):
    data = payment()
    first = client.enqueue(data)
    again = client.enqueue(data)
    assert (again.job_id, again.duplicate) == (first.job_id, True)


def test_enqueue_key_reused_with_another_body_is_a_conflict(client: QueueClient):
    key = f"reused-{uuid.uuid4()}"
    first = client.enqueue(AnalyticsTrack(event_type="one"), idempotency_key=key)

    with pytest.raises(IdempotencyKeyReused) as raised:
        client.enqueue(AnalyticsTrack(event_type="two"), idempotency_key=key)

    error = raised.value
    assert error.status == 409
    assert error.type == "/problems/idempotency-key-reused"
    assert error.title == "Idempotency key reused"
    assert error.job_id == first.job_id
    assert error.extras["job_id"] == first.job_id
    assert error.request_id


def test_enqueue_invalid_payload_surfaces_the_field_errors(client: QueueClient):
    with pytest.raises(InvalidJobData) as raised:
        client.enqueue(
            "payment-process",
            {"venueId": str(VENUE), "amount": -1},
        )

    error = raised.value
    assert error.status == 422
    assert error.type == "/problems/invalid-job-data"
    assert error.instance == "/api/v1/queue/jobs"
    pointers = {e.pointer: e.detail for e in error.errors}
    assert pointers["/data/amount"] == "Input should be greater than 0"
    assert pointers["/data/userId"] == "Field required"
    assert "/data/amount" in error.detail
    assert "422 Invalid job data" in str(error)


def test_enqueue_nul_in_data_is_a_clear_422(client: QueueClient):
    with pytest.raises(InvalidJobData) as raised:
        client.enqueue(AnalyticsTrack(event_type="a\x00b"))

    error = raised.value
    assert error.status == 422
    assert [(e.pointer, e.detail) for e in error.errors] == [
        ("/data/eventType", "contains a NUL character (U+0000)")
    ]


def test_enqueue_nul_in_a_key_is_a_clear_422(client: QueueClient):
    with pytest.raises(InvalidJobData, match="NUL"):
        client.enqueue(
            "analytics-track", {"eventType": "x", "properties": {"k\x00": 1}}
        )


def test_enqueue_unknown_queue_and_type_raise_their_problems(client: QueueClient):
    with pytest.raises(UnknownQueue) as raised:
        client.enqueue("analytics-track", {"eventType": "x"}, queue="mony")
    assert raised.value.status == 404 and isinstance(raised.value, NotFound)
    with pytest.raises(UnknownJobType) as unknown:
        client.enqueue("no-such-type", {}, queue="background")
    assert unknown.value.status == 400


def test_enqueue_dependency_on_a_missing_job_is_refused(client: QueueClient):
    with pytest.raises(InvalidDependency):
        client.enqueue(AnalyticsTrack(event_type="x"), depends_on=[2**40])


def test_get_job_unknown_is_job_not_found(client: QueueClient):
    with pytest.raises(JobNotFound) as raised:
        client.get_job(2**40)

    error = raised.value
    assert error.status == 404
    assert error.type == "/problems/job-not-found"
    assert error.job_id == 2**40


def test_get_job_of_another_queue_is_not_found(client: QueueClient):
    made = client.enqueue(AnalyticsTrack(event_type="x"))
    assert client.get_job(made.job_id, queue="background").id == made.job_id
    with pytest.raises(JobNotFound):
        client.get_job(made.job_id, queue="money")


def test_list_jobs_filters_by_state(client: QueueClient):
    made = client.enqueue(AnalyticsTrack(event_type="listed"), delay=timedelta(hours=2))

    page = client.list_jobs("background", status="delayed", start=0, end=99)
    assert page.queue == "background" and page.status == "delayed"
    assert made.job_id in {j.id for j in page.jobs}
    waiting = client.list_jobs("background", status="waiting", end=99)
    assert made.job_id not in {j.id for j in waiting.jobs}


def test_list_jobs_unknown_queue_is_unknown_queue(client: QueueClient):
    with pytest.raises(UnknownQueue):
        client.list_jobs("no-such-queue")


def test_cancel_job_then_cancel_again_is_a_transition_error(client: QueueClient):
    made = client.enqueue(AnalyticsTrack(event_type="cancel-me"))

    cancelled = client.cancel_job(made.job_id)
    assert (cancelled.job_id, cancelled.status) == (made.job_id, "cancelled")
    assert client.get_job(made.job_id).state == "cancelled"
    with pytest.raises(InvalidJobTransition) as raised:
        client.cancel_job(made.job_id)
    assert raised.value.status == 409


def test_retry_job_that_has_not_failed_is_a_transition_error(client: QueueClient):
    made = client.enqueue(AnalyticsTrack(event_type="retry-me"))
    with pytest.raises(InvalidJobTransition):
        client.retry_job(made.job_id)


def test_retry_unknown_job_is_job_not_found(client: QueueClient):
    with pytest.raises(JobNotFound):
        client.retry_job(2**40, queue="background")


def test_enqueue_many_reports_jobs_and_refusals(client: QueueClient):
    result = client.enqueue_many(
        [
            AnalyticsTrack(event_type="batch-1"),
            job("analytics-track", {"eventType": "batch-2"}, priority=9),
            job("analytics-track", {}),
        ]
    )

    assert result.queue == "background"
    assert (result.total, result.successful, result.failed) == (3, 2, 1)
    assert [j.index for j in result.jobs] == [0, 1]
    assert client.get_job(result.jobs[1].job_id).priority == 9
    (refused,) = result.errors
    assert refused.index == 2
    assert refused.errors[0]["pointer"] == "/jobs/2/data/eventType"


def test_enqueue_many_stop_on_error_is_all_or_nothing(client: QueueClient):
    marker = f"all-or-nothing-{uuid.uuid4()}"
    with pytest.raises(BatchRejected) as raised:
        client.enqueue_many(
            [
                AnalyticsTrack(event_type=marker),
                job("analytics-track", {"eventType": 5}),
                job("analytics-track", {}),
            ],
            stop_on_error=True,
            validate_all=True,
        )

    error = raised.value
    assert error.status == 422
    assert {e["index"] for e in error.extras["errors"]} == {1, 2}
    page = client.list_jobs("background", status="waiting", end=99)
    assert all(
        not (isinstance(j.data, dict) and j.data.get("eventType") == marker)
        for j in page.jobs
    )


def test_enqueue_many_jobs_of_several_queues_need_one(client: QueueClient):
    with pytest.raises(ValueError, match="one queue"):
        client.enqueue_many(
            [AnalyticsTrack(event_type="x"), SendEmail(to="a@b.co", template="t")]
        )


def test_create_batch_and_get_batch(client: QueueClient):
    made = client.create_batch(
        [
            AnalyticsTrack(event_type="member-0"),
            job(
                AnalyticsTrack(event_type="member-1"),
                depends_on=[Dependency(index=0, on_failure="run")],
            ),
        ],
        on_complete=AnalyticsTrack(event_type="batch-done"),
        idempotency_key=f"batch-{uuid.uuid4()}",
    )

    assert [m.index for m in made.jobs] == [0, 1]
    batch = client.get_batch(made.batch_id)
    assert batch.id == made.batch_id
    assert (batch.state, batch.total, batch.pending, batch.percent) == (
        "running",
        2,
        2,
        0,
    )
    assert batch.on_complete_job_id is not None
    assert batch.on_failure_job_id is None
    assert client.get_job(batch.on_complete_job_id).state == "waiting-children"
    assert client.get_job(made.jobs[1].job_id).state == "waiting-children"


def test_create_batch_replay_makes_nothing_twice(client: QueueClient):
    key = f"batch-replay-{uuid.uuid4()}"
    jobs = [AnalyticsTrack(event_type="replayed")]
    first = client.create_batch(jobs, idempotency_key=key)
    again = client.create_batch(jobs, idempotency_key=key)
    assert again.batch_id == first.batch_id
    assert again.jobs[0].job_id == first.jobs[0].job_id


def test_create_batch_with_an_invalid_job_enqueues_nothing(client: QueueClient):
    with pytest.raises(QueueServiceError) as raised:
        client.create_batch(
            [AnalyticsTrack(event_type="fine"), job("analytics-track", {})]
        )
    assert raised.value.status == 422
    assert any(e.pointer.startswith("/jobs/1") for e in raised.value.errors)


def test_get_batch_unknown_is_batch_not_found(client: QueueClient):
    with pytest.raises(BatchNotFound) as raised:
        client.get_batch(2**40)
    assert raised.value.status == 404


def test_get_batch_of_another_caller_is_not_found(api_url: str, client: QueueClient):
    made = client.create_batch([AnalyticsTrack(event_type="mine")])
    stranger = token("user", sub=f"stranger-{uuid.uuid4()}")
    with QueueClient(api_url, stranger) as other, pytest.raises(BatchNotFound):
        other.get_batch(made.batch_id)


def test_bad_token_is_unauthorized(api_url: str):
    with QueueClient(api_url, "not-a-jwt") as queue, pytest.raises(Unauthorized) as r:
        queue.get_job(1)
    assert r.value.status == 401
    assert r.value.type == "about:blank"


def test_role_that_may_not_enqueue_the_type_is_forbidden(api_url: str):
    user = token("user", sub=f"user-{uuid.uuid4()}")
    with QueueClient(api_url, user) as queue, pytest.raises(Forbidden) as raised:
        queue.enqueue(RefundProcess(transaction_id="ch_1"))
    assert raised.value.status == 403
    assert "refund-process" in raised.value.detail


def test_token_function_is_called_per_request(api_url: str, subject: str):
    calls: list[int] = []

    def current() -> str:
        calls.append(1)
        return token("admin", sub=subject)

    with QueueClient(api_url, current) as queue:
        made = queue.enqueue(AnalyticsTrack(event_type="token-fn"))
        queue.get_job(made.job_id)
    assert len(calls) == 2


def test_injected_http_client_is_used_and_left_open(api_url: str, admin_token: str):
    seen: list[str] = []
    http = httpx.Client(
        event_hooks={"request": [lambda request: seen.append(request.url.path)]}
    )
    with QueueClient(f"{api_url}/", admin_token, http_client=http) as queue:
        queue.enqueue(AnalyticsTrack(event_type="injected"))
    assert seen == ["/api/v1/queue/jobs"]
    assert not http.is_closed
    http.close()


def test_unreachable_service_is_a_transport_error(admin_token: str):
    with QueueClient(f"http://127.0.0.1:{free_port()}", admin_token) as queue:
        with pytest.raises(TransportError) as raised:
            queue.get_job(1)
    assert isinstance(raised.value, QueueServiceError)
    assert raised.value.status is None


def test_base_url_must_be_http():
    with pytest.raises(ValueError, match="http"):
        QueueClient("queue-service:3020", "t")


async def test_async_enqueue_get_and_errors(async_client: AsyncQueueClient):
    made = await async_client.enqueue(payment(amount=2500))
    fetched = await async_client.get_job(made.job_id)
    assert fetched.data["amount"] == 2500  # type: ignore[index,call-overload]
    with pytest.raises(InvalidJobData) as raised:
        await async_client.enqueue("payment-process", {"amount": "1500"})
    assert "/data/amount" in {e.pointer for e in raised.value.errors}
    with pytest.raises(JobNotFound):
        await async_client.get_job(2**40)


async def test_async_batches_list_and_cancel(async_client: AsyncQueueClient):
    many = await async_client.enqueue_many(
        [AnalyticsTrack(event_type="a1"), AnalyticsTrack(event_type="a2")]
    )
    assert many.successful == 2
    batch = await async_client.create_batch([AnalyticsTrack(event_type="ab")])
    assert (await async_client.get_batch(batch.batch_id)).total == 1
    page = await async_client.list_jobs("background", end=99)
    assert page.queue == "background"
    cancelled = await async_client.cancel_job(many.jobs[0].job_id)
    assert cancelled.status == "cancelled"
    explained = await async_client.explain_job(many.jobs[1].job_id)
    assert explained.job_id == many.jobs[1].job_id
    assert await async_client.get_job_outcomes(many.jobs[1].job_id) == ()


async def test_async_injected_client_and_transport_error(admin_token: str):
    async with httpx.AsyncClient() as http:
        queue = AsyncQueueClient(
            f"http://127.0.0.1:{free_port()}", admin_token, http_client=http
        )
        with pytest.raises(TransportError):
            await queue.get_job(1)
        await queue.aclose()
        assert not http.is_closed
