"""Test helpers for code that enqueues jobs with this client.

- `RecordingClient` / `AsyncRecordingClient`: in-memory stand-ins for
  `QueueClient` / `AsyncQueueClient`, with the same `enqueue`,
  `enqueue_many` and `create_batch`. They check what the service checks
  first (a known job type's data against its model, its queue, NUL
  characters, idempotency keys reused with another body, dependencies on
  unknown jobs), raise the same errors, and record each job under an id as
  the service numbers them.
- `assert_enqueued(job_type, **data_subset)` / `refute_enqueued(...)` on a
  recording client: whether a job of that type with that data was enqueued,
  with a message listing what was.
- `run_inline(job_type, handler)`: hand each waiting job of the type to your
  function, as a worker would, and mark it completed (or failed, if it raised).
- `assert_enqueued_sql(conn, job_type, data_subset)`: the same assertion
  against a real database (the service's view `queue.jobs`), for code that
  enqueues with `queue_service_client.sql` in its own transaction.

What they do not model: roles (a recording client lets any caller enqueue
any type), rate limits, the keys the service renders from a type's template
(only keys you pass dedupe), and time (`delay`/`run_at` jobs run at once).
"""

from queue_service_client.testing.database import (
    SqlState,
    assert_enqueued_sql,
    assert_enqueued_sql_async,
    refute_enqueued_sql,
    refute_enqueued_sql_async,
)
from queue_service_client.testing.recorder import RecordedJob, RecordedState
from queue_service_client.testing.recording import (
    AsyncRecordingClient,
    RecordingClient,
)

__all__ = [
    "AsyncRecordingClient",
    "RecordedJob",
    "RecordedState",
    "RecordingClient",
    "SqlState",
    "assert_enqueued_sql",
    "assert_enqueued_sql_async",
    "refute_enqueued_sql",
    "refute_enqueued_sql_async",
]
