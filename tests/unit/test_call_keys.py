"""The key a job's provider calls go under, and which earlier success answers a claim."""

from workers.attempts import idempotency_key
from workers.tasks.calls import call_key


class Row:
    def __init__(self, meta: object) -> None:
        self.args = {"data": {}, "meta": meta}


def test_a_job_calls_under_its_key_or_its_own_id():
    assert call_key(7, {"idempotency_key": "refund-1"}) == "refund-1"
    assert call_key(7, {"idempotency_key": None}) == "job-7"
    assert call_key(7, None) == "job-7"


def test_a_key_later_jobs_reuse_is_made_the_jobs_own():
    for mode in ("active", "waiting"):
        meta = {"idempotency_key": "summary", "unique_while": mode}
        assert call_key(7, meta) == "summary#job-7"
        assert call_key(8, meta) == "summary#job-8"
        assert idempotency_key(Row(meta)) is None  # type: ignore[arg-type]
    assert idempotency_key(Row({"idempotency_key": "summary"})) == "summary"  # type: ignore[arg-type]
