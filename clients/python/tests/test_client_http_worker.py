"""The HTTP client end to end: a real API and a real worker running the jobs it enqueues."""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import TypeVar

import pytest

from queue_service_client import (
    AsyncQueueClient,
    Dependency,
    QueueClient,
    job,
)

pytestmark = [pytest.mark.acceptance, pytest.mark.usefixtures("worker")]

T = TypeVar("T")


def eventually(
    read: Callable[[], T], done: Callable[[T], bool], timeout: float = 60
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_enqueued_job_completes_and_shows_its_outcome(client: QueueClient):
    made = client.enqueue(
        "test-record-communication", {"value": "ran"}, queue="communication"
    )

    finished = eventually(
        lambda: client.get_job(made.job_id), lambda j: j.state == "completed"
    )
    assert finished.state == "completed"
    assert finished.progress == 100
    (outcome,) = client.get_job_outcomes(made.job_id)
    assert outcome.status == "succeeded"
    assert outcome.result == {"value": "ran", "attempt": 1}


def test_failed_job_is_retried(client: QueueClient):
    made = client.enqueue(
        "test-record-communication",
        {"permanent": True, "id": str(uuid.uuid4())},
        queue="communication",
    )
    failed = eventually(
        lambda: client.get_job(made.job_id), lambda j: j.state == "failed"
    )
    assert failed.state == "failed"
    assert failed.failed_reason and "told to fail for good" in failed.failed_reason

    retried = client.retry_job(made.job_id, queue="communication")
    assert (retried.job_id, retried.status) == (made.job_id, "queued")
    again = eventually(
        lambda: client.get_job_outcomes(made.job_id), lambda o: len(o) >= 2
    )
    assert [o.status for o in again] == ["failed", "failed"]


def test_batch_runs_to_its_callback(client: QueueClient):
    made = client.create_batch(
        [
            job("test-record-communication", {"value": "m0"}, queue="communication"),
            job(
                "test-record-communication",
                {"value": "m1"},
                queue="communication",
                depends_on=[Dependency(index=0)],
            ),
        ],
        on_complete=job(
            "test-record-communication", {"value": "done"}, queue="communication"
        ),
    )

    batch = eventually(
        lambda: client.get_batch(made.batch_id), lambda b: b.state != "running"
    )
    assert (batch.state, batch.succeeded, batch.pending, batch.percent) == (
        "succeeded",
        2,
        0,
        100,
    )
    assert batch.finished_at is not None
    assert batch.on_complete_job_id is not None
    callback = eventually(
        lambda: client.get_job(batch.on_complete_job_id),  # type: ignore[arg-type]
        lambda j: j.state == "completed",
    )
    assert callback.state == "completed"


async def test_async_job_completes(async_client: AsyncQueueClient):
    made = await async_client.enqueue(
        "test-record-communication", {"value": "async"}, queue="communication"
    )
    deadline = time.monotonic() + 60
    state = ""
    while time.monotonic() < deadline:
        state = (await async_client.get_job(made.job_id)).state
        if state == "completed":
            break
        await asyncio.sleep(0.2)
    assert state == "completed"
