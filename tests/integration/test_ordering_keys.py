"""Ordering keys: jobs of one key run one at a time, in enqueue order, across processes."""

import random

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.workers import (
    prepare_test_tasks,
    query,
    wait_for,
    worker_process,
)


@pytest.fixture
def dsn(db_dsn):
    prepare_test_tasks(db_dsn)
    return db_dsn


def test_three_processes_run_each_key_one_at_a_time_in_enqueue_order(dsn, tmp_path):
    rng = random.Random(7)  # noqa: S311 - seeded test timings, not secrets
    keys = ("stream-a", "stream-b", "stream-c")
    jobs = []
    for n in range(60):
        key = keys[n % len(keys)]
        jobs.append(
            {
                "queue": "communication",
                "job_type": "test-record-communication",
                # Out-of-order timing: an early job may take longer than the
                # next ones, which must still wait for it.
                "data": {
                    "value": f"{key}:{n}",
                    "sleep": rng.uniform(0, 0.15),
                    "mark_start": True,
                },
                "ordering_key": key,
            }
        )
    # Unordered jobs beside them: they may run at any time, in parallel.
    jobs += [
        {
            "queue": "communication",
            "job_type": "test-record-communication",
            "data": {"value": f"free:{n}", "sleep": 0.05},
        }
        for n in range(30)
    ]
    query(dsn, "SELECT count(*) FROM queue.enqueue_many(%s)", (Jsonb(jobs),))
    # Two slots per process: one process cannot take every key's turn, so the
    # keys' jobs go to all three, and only the database keeps their order.
    query(dsn, "UPDATE queue.queues SET concurrency = 2 WHERE name = 'communication'")

    with worker_process(dsn, tmp_path, "--processes", "3", "--queues", "communication"):
        wait_for(
            lambda: (
                query(
                    dsn,
                    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'communication'"
                    " AND status IN ('todo', 'doing')",
                )
                == [(0,)]
            ),
            timeout=90,
            what="the queue to drain",
        )
        workers = query(dsn, "SELECT count(DISTINCT worker_id) FROM queue.job_outcomes")

    rows = query(
        dsn,
        "SELECT e.value, j.lock, e.job_id FROM test_side_effects AS e"
        " JOIN procrastinate_jobs AS j ON j.id = e.job_id ORDER BY e.id",
    )
    assert workers[0][0] >= 2  # more than one process took turns of a key
    for key in keys:
        seen = [(value, job_id) for value, lock, job_id in rows if lock == key]
        # Each job's start then its end, job after job: never two at once.
        starts = seen[0::2]
        ends = seen[1::2]
        assert [value for value, _ in starts] == ["start"] * 20, seen
        assert [job for _, job in starts] == [job for _, job in ends], seen
        # In enqueue order.
        assert [job for _, job in ends] == sorted(job for _, job in ends), seen


def test_webhook_deliveries_are_ordered_per_subscriber_and_stream_by_default(dsn):
    def enqueue_webhook(url, event_id, stream=None, ordering_key=None):
        data = {"url": url, "eventId": event_id, "event": "order.paid", "payload": {}}
        if stream is not None:
            data["stream"] = stream
        with psycopg.connect(dsn, autocommit=True) as conn:
            (job_id, _) = conn.execute(
                "SELECT * FROM queue.enqueue('communication', 'webhook-deliver', %s,"
                " ordering_key => %s)",
                (Jsonb(data), ordering_key),
            ).fetchone()
            (lock,) = conn.execute(
                "SELECT lock FROM procrastinate_jobs WHERE id = %s", (job_id,)
            ).fetchone()
        return lock

    a = "https://a.example/hooks"
    b = "https://b.example/hooks"
    assert enqueue_webhook(a, "e1", "order-1") == enqueue_webhook(a, "e2", "order-1")
    assert enqueue_webhook(a, "e3", "order-1") != enqueue_webhook(a, "e4", "order-2")
    assert enqueue_webhook(a, "e5", "order-1") != enqueue_webhook(b, "e6", "order-1")
    # No stream: the subscriber's events are one stream.
    assert enqueue_webhook(a, "e7") == enqueue_webhook(a, "e8")
    assert enqueue_webhook(a, "e9") != enqueue_webhook(b, "e10")
    # A key the caller gives wins.
    assert enqueue_webhook(a, "e11", "order-1", ordering_key="mine") == "mine"


@pytest.mark.parametrize("key", ["", "k" * 513, 7])
def test_an_ordering_key_that_is_not_1_to_512_bytes_is_refused(dsn, key):
    with psycopg.connect(dsn, autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as caught:
            conn.execute(
                "SELECT * FROM queue.enqueue_many(%s)",
                (
                    Jsonb(
                        [
                            {
                                "queue": "background",
                                "job_type": "analytics-track",
                                "data": {"eventType": "x"},
                                "ordering_key": key,
                            }
                        ]
                    ),
                ),
            )
    assert caught.value.sqlstate == "QS011"
    assert (
        "ordering_key must be a string of 1 to 512 bytes"
        in caught.value.diag.message_primary
    )
