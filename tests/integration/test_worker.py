"""Real `queue-service worker` processes running jobs against a real PostgreSQL."""

import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from tests.helpers.workers import (
    ROOT,
    defer_around_enqueue,
    enqueue,
    free_port,
    prepare_test_tasks,
    query,
    wait_for,
    worker_env,
    worker_process,
    workers_registered,
)

ALL_QUEUES = 4  # background, communication, maintenance, money


@pytest.fixture
def dsn(db_dsn):
    prepare_test_tasks(db_dsn)
    return db_dsn


def state(dsn, job_id):
    rows = query(
        dsn,
        "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = %s",
        (job_id,),
    )
    return rows[0] if rows else None


def outcomes(dsn, job_id):
    return query(
        dsn,
        "SELECT attempt, status, error_type, error_message, result FROM queue.job_outcomes WHERE job_id = %s ORDER BY id",
        (job_id,),
    )


def side_effects(dsn, job_id=None):
    if job_id is None:
        return query(
            dsn, "SELECT job_id, attempt, value FROM test_side_effects ORDER BY id"
        )
    return query(
        dsn,
        "SELECT job_id, attempt, value FROM test_side_effects WHERE job_id = %s ORDER BY id",
        (job_id,),
    )


def cli(dsn, *args):
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=worker_env(dsn),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_worker_records_outcomes_and_keeps_results_per_queue(dsn, tmp_path):
    with worker_process(dsn, tmp_path):
        wait_for(lambda: workers_registered(dsn) >= ALL_QUEUES, what="workers")
        jobs = {
            queue: enqueue(dsn, queue, f"test-record-{queue}", {"value": queue})
            for queue in ("money", "communication", "background")
        }
        wait_for(lambda: len(side_effects(dsn)) == 3, what="three jobs")
        wait_for(
            lambda: all(outcomes(dsn, job) for job in jobs.values()), what="outcomes"
        )

    assert state(dsn, jobs["money"]) == ("succeeded", 1)
    assert state(dsn, jobs["communication"]) == ("succeeded", 1)
    assert state(dsn, jobs["background"]) is None  # background deletes succeeded jobs
    assert outcomes(dsn, jobs["money"]) == [
        (1, "succeeded", None, None, {"value": "money", "attempt": 1})
    ]
    assert outcomes(dsn, jobs["communication"])[0][4] == {
        "value": "communication",
        "attempt": 1,
    }
    assert outcomes(dsn, jobs["background"]) == [
        (1, "succeeded", None, None, None)
    ]  # no results kept


def test_worker_retries_per_queue_policy_then_dead_letters(dsn, tmp_path):
    with worker_process(dsn, tmp_path):
        flaky = enqueue(
            dsn,
            "money",
            "test-record-money",
            {"fail_attempts": 2, "value": "third time"},
        )
        doomed = enqueue(
            dsn, "communication", "test-record-communication", {"fail_attempts": 99}
        )
        wait_for(
            lambda: state(dsn, flaky) == ("succeeded", 3), what="flaky job to succeed"
        )
        wait_for(lambda: state(dsn, doomed) == ("failed", 3), what="doomed job to fail")

    assert [row[:3] for row in outcomes(dsn, flaky)] == [
        (1, "retried", "RetryableTaskError"),
        (2, "retried", "RetryableTaskError"),
        (3, "succeeded", None),
    ]
    assert [row[:2] for row in outcomes(dsn, doomed)] == [
        (1, "retried"),
        (2, "retried"),
        (3, "failed"),
    ]
    failures = query(
        dsn,
        "SELECT id, attempts, max_attempts, last_error_type, last_error FROM queue.failures",
    )
    assert failures == [(doomed, 3, 3, "RetryableTaskError", "told to fail attempt 3")]


def test_worker_fails_permanent_errors_at_once(dsn, tmp_path):
    with worker_process(dsn, tmp_path):
        permanent = enqueue(dsn, "money", "test-record-money", {"permanent": True})
        bad_payload = defer_around_enqueue(
            dsn, "background", "analytics-track", {"userId": "not-a-uuid"}
        )
        no_provider = enqueue(
            dsn, "money", "refund-process", {"transactionId": "pi_42"}
        )
        for job in (permanent, bad_payload, no_provider):
            wait_for(
                lambda job=job: state(dsn, job) == ("failed", 1),
                what=f"job {job} to fail",
            )

    assert outcomes(dsn, permanent)[0][:4] == (
        1,
        "failed",
        "PermanentTaskError",
        "told to fail for good",
    )
    error = outcomes(dsn, bad_payload)[0][3]
    assert (
        error.startswith("invalid payload: ")
        and "/data/eventType: Field required" in error
    )
    assert "/data/userId" in error
    assert outcomes(dsn, no_provider)[0][2] == "ProviderNotConfigured"
    assert "needs STRIPE_SECRET_KEY" in outcomes(dsn, no_provider)[0][3]
    assert side_effects(dsn) == []


def test_a_payload_nested_900_deep_deferred_around_the_enqueue_path_fails_for_good(
    dsn, tmp_path
):
    # queue.enqueue refuses such data (QS005); a job deferred with
    # procrastinate's own function skips that check. The worker must not trust
    # what it claims, nor be taken down by it.
    deep = "{" + '"a": {' * 900 + "}" * 900 + "}"
    (job,) = query(
        dsn,
        "SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW('background', 'analytics-track',"
        " 5, NULL, NULL, jsonb_build_object('data', jsonb_build_object('eventType', 'x',"
        " 'properties', %s::jsonb), 'meta', '{}'::jsonb), NULL)::procrastinate_job_to_defer_v1]))[1]",
        (deep,),
    )[0]
    with worker_process(dsn, tmp_path) as worker:
        wait_for(lambda: state(dsn, job) == ("failed", 1), what="the job to fail")
        assert worker.poll() is None
    error = outcomes(dsn, job)[0][3]
    assert error.startswith("invalid payload: ") and "deeper than 32" in error


def test_a_result_the_database_cannot_hold_fails_its_job_and_no_other(dsn, tmp_path):
    # Completions are written in batches: the refused one must not take the
    # others down, nor stay 'doing' under a live worker.
    with worker_process(dsn, tmp_path, "--queues", "money") as worker:
        good = [
            enqueue(dsn, "money", "test-record-money", {"value": f"ok-{i}"})
            for i in range(20)
        ]
        nul = enqueue(dsn, "money", "test-record-money", {"result": "nul"})
        unencodable = enqueue(dsn, "money", "test-record-money", {"result": "object"})
        for job in (nul, unencodable):
            wait_for(lambda job=job: state(dsn, job) == ("failed", 1), what="refusal")
        for job in good:
            wait_for(lambda job=job: state(dsn, job) == ("succeeded", 1), what="good")
        assert worker.poll() is None

    for job in (nul, unencodable):
        ((attempt, status, error_type, error, result),) = outcomes(dsn, job)
        assert (attempt, status, error_type, result) == (
            1,
            "failed",
            "CompletionRefused",
            None,
        )
        assert error.startswith(
            "the attempt ended (succeeded) but its completion was refused: "
        ), error


def test_an_error_message_with_a_nul_is_stored_and_the_job_retried(dsn, tmp_path):
    with worker_process(dsn, tmp_path, "--queues", "money"):
        job = enqueue(
            dsn,
            "money",
            "test-record-money",
            {"fail_attempts": 1, "nul_in_error": True},
        )
        wait_for(lambda: state(dsn, job) == ("succeeded", 2), what="the retry")

    assert [row[:4] for row in outcomes(dsn, job)] == [
        (1, "retried", "RetryableTaskError", "told to fail attempt 1\ufffd"),
        (2, "succeeded", None, None),
    ]


def test_a_job_past_its_execution_timeout_is_stopped_and_its_slot_freed(dsn, tmp_path):
    # One slot: the job after the stuck one runs only if the slot comes back.
    query(dsn, "UPDATE queue.queues SET concurrency = 1 WHERE name = 'background'")
    query(
        dsn,
        "UPDATE queue.job_types SET execution_timeout = '1 second'"
        " WHERE name = 'test-record-background'",
    )
    with worker_process(dsn, tmp_path, "--queues", "background") as worker:
        stuck = enqueue(
            dsn, "background", "test-record-background", {"sleep": 3600}, priority=9
        )
        after = enqueue(
            dsn, "background", "test-record-background", {"value": "after"}, priority=1
        )
        wait_for(lambda: state(dsn, stuck) == ("failed", 2), timeout=30, what="stop")
        wait_for(lambda: side_effects(dsn, after), what="the next job to run")
        assert worker.poll() is None

    assert [row[:4] for row in outcomes(dsn, stuck)] == [
        (
            1,
            "retried",
            "ExecutionTimedOut",
            "ran past its execution timeout of 1 s and was stopped",
        ),
        (
            2,
            "failed",
            "ExecutionTimedOut",
            "ran past its execution timeout of 1 s and was stopped",
        ),
    ]
    assert side_effects(dsn, stuck) == []


def test_a_queue_execution_timeout_applies_to_types_without_their_own(dsn, tmp_path):
    query(
        dsn,
        "UPDATE queue.queues SET execution_timeout = '1 second' WHERE name = 'money'",
    )
    with worker_process(dsn, tmp_path, "--queues", "money"):
        slow = enqueue(dsn, "money", "test-record-money", {"sleep": 3600})
        wait_for(
            lambda: (
                [row[2] for row in outcomes(dsn, slow)][:1] == ["ExecutionTimedOut"]
            ),
            timeout=30,
            what="the slow job to be stopped",
        )
        # Within the limit: runs to the end.
        quick = enqueue(dsn, "money", "test-record-money", {"sleep": 0.2})
        wait_for(lambda: state(dsn, quick) == ("succeeded", 1), what="the quick job")


def test_cli_retry_requeues_dead_letters(dsn, tmp_path):
    with worker_process(dsn, tmp_path):
        first = defer_around_enqueue(dsn, "background", "analytics-track", {})
        second = defer_around_enqueue(
            dsn, "background", "analytics-track", {"eventType": ""}
        )
        wait_for(
            lambda: (
                state(dsn, first) == ("failed", 1)
                and state(dsn, second) == ("failed", 1)
            ),
            what="failures",
        )

        one = cli(dsn, "retry", str(first))
        assert one.returncode == 0, one.stderr
        wait_for(
            lambda: (
                len(outcomes(dsn, first)) == 2 and state(dsn, first) == ("failed", 1)
            ),
            what="rerun",
        )

        everything = cli(dsn, "retry", "--queue", "background", "--failed")
        assert everything.returncode == 0, everything.stderr
        assert everything.stdout.strip() == "2 failed job(s) of background requeued"
        wait_for(
            lambda: len(outcomes(dsn, first)) == 3 and len(outcomes(dsn, second)) == 2,
            what="reruns",
        )

    not_failed = cli(dsn, "retry", "999999")
    assert (
        not_failed.returncode == 1 and "job 999999 does not exist" in not_failed.stderr
    )


def test_sigterm_lets_running_jobs_finish_and_exits_0(dsn, tmp_path):
    with worker_process(dsn, tmp_path) as process:
        job = enqueue(
            dsn,
            "background",
            "test-record-background",
            {"sleep": 2, "value": "finished"},
        )
        wait_for(lambda: state(dsn, job) == ("doing", 0), what="job to start")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    assert side_effects(dsn, job) == [(job, 1, "finished")]
    assert outcomes(dsn, job)[0][:2] == (1, "succeeded")


def test_sigterm_past_grace_returns_job_without_spending_an_attempt(dsn, tmp_path):
    with worker_process(dsn, tmp_path, WORKER_SHUTDOWN_GRACE_S="1") as process:
        job = enqueue(dsn, "money", "test-record-money", {"sleep": 60})
        wait_for(lambda: state(dsn, job) == ("doing", 0), what="job to start")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 15
    assert state(dsn, job) == ("todo", 0)
    assert outcomes(dsn, job)[0][:3] == (1, "interrupted", "CancelledError")


def test_killed_worker_job_is_rescued_and_done_exactly_once(dsn, tmp_path):
    with worker_process(dsn, tmp_path, name="doomed") as doomed:
        wait_for(lambda: workers_registered(dsn) >= ALL_QUEUES, what="first worker")
        job = enqueue(
            dsn,
            "communication",
            "test-record-communication",
            {"sleep": 3, "value": "once"},
        )
        wait_for(lambda: state(dsn, job) == ("doing", 0), what="job to be claimed")
        wait_for(lambda: started_marks(dsn) == [job], what="job to start")
        doomed.kill()  # SIGKILL: no cleanup, no heartbeat any more
        doomed.wait()
        killed_at = time.monotonic()
        with worker_process(dsn, tmp_path, name="rescuer"):
            wait_for(
                lambda: state(dsn, job) == ("succeeded", 2),
                timeout=60,
                what="rescued job to succeed",
            )
            assert time.monotonic() - killed_at < 60
    assert side_effects(dsn, job) == [(job, 2, "once")]
    assert [row[:3] for row in outcomes(dsn, job)] == [
        (1, "rescued", "WorkerLost"),
        (2, "succeeded", None),
    ]


def started_marks(dsn):
    return [
        row[0] for row in query(dsn, "SELECT job_id FROM queue.job_starts ORDER BY 1")
    ]


def test_sigkill_mid_batch_returns_unstarted_claims_and_rescues_started_jobs(
    dsn, tmp_path
):
    # Jobs of 0.3 s with 10 slots: the lane claims a buffer beyond its slots,
    # so at the kill some claimed jobs run and others wait in its local queue.
    query(
        dsn,
        "SELECT count(*) FROM queue.enqueue_many((SELECT jsonb_agg(jsonb_build_object("
        "'queue', 'background', 'job_type', 'test-record-background', "
        "'data', jsonb_build_object('value', i::text, 'sleep', 0.3))) "
        "FROM generate_series(1, 300) AS i))",
    )
    with worker_process(
        dsn,
        tmp_path,
        "--queues",
        "background",
        name="doomed",
        WORKER_CLAIM_BUFFER_S="2",
    ) as doomed:

        def claimed_beyond_running():
            (claimed,) = query(
                dsn, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
            )[0]
            return claimed > len(started_marks(dsn)) >= 5

        wait_for(claimed_beyond_running, what="claims beyond the running jobs")
        doomed.kill()
        doomed.wait()
    claimed = {
        row[0]
        for row in query(
            dsn, "SELECT id FROM procrastinate_jobs WHERE status = 'doing'"
        )
    }
    started = set(started_marks(dsn))
    assert started <= claimed and len(claimed) > len(started) > 0
    # The rescue runs on the maintenance queue.
    with worker_process(
        dsn, tmp_path, "--queues", "background,maintenance", name="rescuer"
    ):
        wait_for(
            lambda: (
                query(
                    dsn,
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')",
                )[0][0]
                == 0
            ),
            timeout=90,
            what="the queue to drain",
        )
    # The background queue deletes succeeded jobs: none may be left.
    assert (
        query(
            dsn,
            "SELECT j.status::text, j.attempts, o.attempt, o.status, o.error_type, o.error_message "
            "FROM procrastinate_jobs AS j LEFT JOIN queue.job_outcomes AS o ON o.job_id = j.id",
        )
        == []
    )
    rescued = {
        row[0]
        for row in query(
            dsn, "SELECT job_id FROM queue.job_outcomes WHERE status = 'rescued'"
        )
    }
    runs: dict[int, list[int]] = {}
    for job, attempt in query(
        dsn, "SELECT job_id, attempt FROM test_side_effects ORDER BY id"
    ):
        runs.setdefault(job, []).append(attempt)
    assert len(runs) == 300
    assert rescued == started  # a started attempt is counted ...
    # (one killed after its side effect, before its completion was written,
    # ran its side effect again: at least once, as documented)
    assert all(runs[job][-1] == 2 for job in started)
    # ... a claimed, unstarted job goes back without spending one, and runs once
    assert all(runs[job] == [1] for job in claimed - started)


def test_claims_not_started_within_their_lease_go_back_to_the_queue(dsn, tmp_path):
    # One slot and jobs of 50 ms: a lane keeping 3 s of work claimed holds
    # jobs longer than a 1 s lease, so some go back, uncounted, and the other
    # process (or the same one) claims them again.
    query(dsn, "UPDATE queue.queues SET concurrency = 1 WHERE name = 'communication'")
    query(
        dsn,
        "SELECT count(*) FROM queue.enqueue_many((SELECT jsonb_agg(jsonb_build_object("
        "'queue', 'communication', 'job_type', 'test-record-communication', "
        "'data', jsonb_build_object('value', i::text, 'sleep', 0.05))) "
        "FROM generate_series(1, 100) AS i))",
    )
    leased = {"WORKER_CLAIM_LEASE_S": "1", "WORKER_CLAIM_BUFFER_S": "3"}
    with (
        worker_process(dsn, tmp_path, "--queues", "communication", name="a", **leased),
        worker_process(dsn, tmp_path, "--queues", "communication", name="b", **leased),
    ):
        wait_for(
            lambda: query(dsn, "SELECT count(*) FROM test_side_effects")[0][0] == 100,
            timeout=60,
            what="every job to run",
        )
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    attempts = query(
        dsn,
        "SELECT attempt, count(*), count(DISTINCT job_id) FROM test_side_effects GROUP BY 1",
    )
    assert "action=jobs_released" in logs
    assert attempts == [(1, 100, 100)]


def test_job_whose_key_already_succeeded_is_not_run_again(dsn, tmp_path):
    with worker_process(dsn, tmp_path):
        first = enqueue(
            dsn,
            "communication",
            "test-record-communication",
            {"value": "first"},
            idempotency_key="k-1",
        )
        wait_for(lambda: state(dsn, first) == ("succeeded", 1), what="first run")
        # The key's enqueue record expired; the outcome ledger still knows it.
        query(dsn, "DELETE FROM queue.idempotency_keys WHERE key = 'k-1'")
        second = enqueue(
            dsn,
            "communication",
            "test-record-communication",
            {"value": "second"},
            idempotency_key="k-1",
        )
        assert second != first
        wait_for(lambda: state(dsn, second) == ("succeeded", 1), what="second job")
    assert side_effects(dsn) == [(first, 1, "first")]
    assert outcomes(dsn, second)[0][1] == "succeeded"
    assert outcomes(dsn, second)[0][4] == {"value": "first", "attempt": 1}


def test_pause_and_resume_reach_two_running_processes(dsn, tmp_path):
    with (
        worker_process(dsn, tmp_path, name="one") as one,
        worker_process(dsn, tmp_path, name="two") as two,
    ):
        wait_for(
            lambda: workers_registered(dsn) >= 2 * ALL_QUEUES, what="both processes"
        )
        running = enqueue(
            dsn,
            "communication",
            "test-record-communication",
            {"sleep": 2, "value": "running"},
        )
        wait_for(lambda: state(dsn, running) == ("doing", 0), what="job to start")
        assert cli(dsn, "pause", "communication-queue").returncode == 0
        waiting = [
            enqueue(
                dsn, "communication", "test-record-communication", {"value": f"w{i}"}
            )
            for i in range(6)
        ]
        wait_for(
            lambda: state(dsn, running) == ("succeeded", 1),
            what="running job to finish",
        )
        time.sleep(1.5)  # several polls of both processes
        assert [state(dsn, job) for job in waiting] == [("todo", 0)] * 6

        assert cli(dsn, "resume", "communication").returncode == 0
        wait_for(
            lambda: all(state(dsn, job) == ("succeeded", 1) for job in waiting),
            timeout=10,
            what="resumed jobs",
        )
        assert one.poll() is None and two.poll() is None  # no restart needed
    assert cli(dsn, "pause", "nope").returncode == 1


def test_cancel_waiting_and_abort_running_jobs(dsn, tmp_path):
    with worker_process(dsn, tmp_path):
        later = enqueue(
            dsn, "money", "test-record-money", {}, run_at="2099-01-01T00:00:00Z"
        )
        long_async = enqueue(dsn, "money", "test-record-money", {"sleep": 60})
        long_sync = enqueue(dsn, "background", "test-sync-abort", {"dsn": dsn})
        wait_for(
            lambda: state(dsn, long_async) == ("doing", 0), what="async job to start"
        )
        wait_for(lambda: side_effects(dsn, long_sync), what="sync job to start")

        assert cli(dsn, "cancel", str(later)).stdout.strip() == f"job {later} cancelled"
        assert (
            cli(dsn, "cancel", str(long_async)).stdout.strip()
            == f"job {long_async} aborting"
        )
        assert (
            cli(dsn, "cancel", str(long_sync)).stdout.strip()
            == f"job {long_sync} aborting"
        )
        wait_for(
            lambda: state(dsn, long_async) == ("aborted", 1),
            timeout=15,
            what="async abort",
        )
        wait_for(
            lambda: state(dsn, long_sync) == ("aborted", 1),
            timeout=15,
            what="sync abort",
        )

    assert state(dsn, later) == ("cancelled", 0)
    assert [v for _, _, v in side_effects(dsn, long_sync)] == ["started", "saw abort"]
    assert outcomes(dsn, long_async)[0][:2] == (1, "aborted")
    again = cli(dsn, "cancel", str(later))
    assert (
        again.returncode == 1
        and f"job {later} is cancelled and cannot be cancelled" in again.stderr
    )


def test_worker_serves_metrics(dsn, tmp_path):
    port = free_port()
    with worker_process(dsn, tmp_path, WORKER_METRICS_PORT=str(port)):
        job = enqueue(dsn, "money", "test-record-money", {"value": "m"})
        wait_for(lambda: state(dsn, job) == ("succeeded", 1), what="job")
        text = (
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5)
            .read()
            .decode()
        )
    assert (
        'job_results_total{job_type="test-record-money",queue_name="money",result="succeeded"} 1.0'
        in text
    )
    assert (
        'job_processing_duration_seconds_count{job_type="test-record-money",queue_name="money"} 1.0'
        in text
    )
    assert (
        "queue_service_jobs_rescued_total" in text
        and "queue_service_job_retries_total" in text
    )


def test_three_processes_drain_20000_jobs_each_exactly_once(dsn, tmp_path):
    # Side effects of both kinds: a task's own INSERT, and an analytics event
    # written with the job's completion.
    query(
        dsn,
        "SELECT count(*) FROM queue.enqueue_many((SELECT jsonb_agg(jsonb_build_object("
        "'queue', 'background', 'job_type', 'test-record-background', 'data', jsonb_build_object('value', i::text))) "
        "FROM generate_series(1, 20000) AS i))",
    )
    query(
        dsn,
        "SELECT count(*) FROM queue.enqueue_many((SELECT jsonb_agg(jsonb_build_object("
        "'queue', 'background', 'job_type', 'analytics-track', 'data', "
        "jsonb_build_object('eventType', 'seat_viewed', 'properties', jsonb_build_object('n', i)))) "
        "FROM generate_series(1, 5000) AS i))",
    )
    with worker_process(
        dsn, tmp_path, "--processes", "3", "--queues", "background"
    ) as supervisor:
        wait_for(
            lambda: (
                query(
                    dsn,
                    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'background' AND status IN ('todo', 'doing')",
                )[0][0]
                == 0
            ),
            timeout=120,
            what="the queue to drain",
        )
        children = psutil.Process(supervisor.pid).children()
        assert len(children) == 3
        processes_seen = query(
            dsn, "SELECT count(DISTINCT worker_id) FROM queue.job_outcomes"
        )[0][0]
    total, distinct, values = query(
        dsn,
        "SELECT count(*), count(DISTINCT job_id), count(DISTINCT value) FROM test_side_effects",
    )[0]
    events, event_jobs, event_values = query(
        dsn,
        "SELECT count(*), count(DISTINCT job_id), count(DISTINCT properties) FROM queue.analytics_events",
    )[0]
    assert (total, distinct, values) == (20000, 20000, 20000)
    assert (events, event_jobs, event_values) == (5000, 5000, 5000)
    assert processes_seen == 3


def test_supervisor_restarts_a_dead_worker_and_exits_0(dsn, tmp_path):
    with worker_process(dsn, tmp_path, "--processes", "2") as supervisor:
        children = wait_for(
            lambda: (
                len(psutil.Process(supervisor.pid).children()) == 2
                and psutil.Process(supervisor.pid).children()
            ),
            what="children",
        )
        victim = children[0].pid
        children[0].kill()
        wait_for(
            lambda: (
                len(kids := psutil.Process(supervisor.pid).children()) == 2
                and victim not in {k.pid for k in kids}
            ),
            timeout=20,
            what="a replacement child",
        )
        job = enqueue(dsn, "money", "test-record-money", {"value": "after restart"})
        wait_for(lambda: state(dsn, job) == ("succeeded", 1), what="job after restart")
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=60) == 0
