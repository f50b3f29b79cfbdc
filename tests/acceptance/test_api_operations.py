"""Queues, rate limits, metrics and alerts over HTTP against the real database."""

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.helpers.api import auth

API = "/api/v1/queue"
ADMIN = auth("admin", sub="ops")


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def enqueue(dsn, queue, job_type, data, **kwargs):
    names = "".join(f", {k} => %({k})s" for k in kwargs)
    return sql(
        dsn,
        f"SELECT job_id FROM queue.enqueue(%(q)s, %(t)s, %(d)s{names})",
        {"q": queue, "t": job_type, "d": Jsonb(data), **kwargs},
    )[0][0]


async def test_the_monitoring_role_sees_queues_but_never_job_payloads(client, db_dsn):
    secret = {"eventType": "seat_viewed", "properties": {"email": "ann@example.com"}}
    job = enqueue(db_dsn, "background", "analytics-track", secret)
    monitoring = auth("monitoring", sub="oncall-1")
    status = await client.get(f"{API}/queues/background/status", headers=monitoring)
    page = await client.get(
        f"{API}/queues/background/jobs?status=waiting", headers=monitoring
    )
    assert status.status_code == page.status_code == 200
    for listed in (status.json()["samples"]["waiting"], page.json()["jobs"]):
        (seen,) = listed
        assert seen["id"] == job and seen["type"] == "analytics-track"
        assert seen["data"] is None and seen["idempotencyKey"] is None
    assert "ann@example.com" not in status.text + page.text
    # An admin sees them.
    admin_page = await client.get(
        f"{API}/queues/background/jobs?status=waiting", headers=ADMIN
    )
    assert admin_page.json()["jobs"][0]["data"] == secret


async def test_queues_list_and_status_show_counts_and_samples(client, db_dsn):
    waiting = [
        enqueue(db_dsn, "background", "analytics-track", {"eventType": str(i)})
        for i in range(12)
    ]
    later = enqueue(
        db_dsn,
        "background",
        "analytics-track",
        {"eventType": "later"},
        run_at="2099-01-01T00:00:00Z",
    )
    sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET status = 'doing' WHERE id = %s",
        (waiting[0],),
    )
    listed = {
        q["name"]: q for q in (await client.get(f"{API}/queues", headers=ADMIN)).json()
    }
    assert listed["background"]["counts"] == {
        "waiting": 11,
        "delayed": 1,
        "active": 1,
        "completedLastHour": 0,
        "failedLastHour": 0,
        # The old service's names.
        "completed": 0,
        "failed": 0,
    }
    assert (
        listed["money"]["tier"] == "critical" and listed["money"]["maxAttempts"] == 10
    )
    status = (
        await client.get(f"{API}/queues/background-queue/status", headers=ADMIN)
    ).json()
    assert len(status["samples"]["waiting"]) == 10 and [
        j["id"] for j in status["samples"]["active"]
    ] == [waiting[0]]
    page = (
        await client.get(
            f"{API}/queues/background/jobs?status=delayed&start=0&end=5", headers=ADMIN
        )
    ).json()
    assert [j["id"] for j in page["jobs"]] == [later] and page["jobs"][0][
        "state"
    ] == "delayed"
    second = (
        await client.get(
            f"{API}/queues/background/jobs?status=waiting&start=10&end=19",
            headers=ADMIN,
        )
    ).json()
    assert [j["id"] for j in second["jobs"]] == waiting[11:]


async def test_pause_resume_and_clear_queues(client, db_dsn):
    assert (await client.post(f"{API}/queues/money/pause", headers=ADMIN)).json() == {
        "queue": "money",
        "paused": True,
        "status": "paused",
        "message": "Queue has been paused",
    }
    assert sql(db_dsn, "SELECT paused FROM queue.queues WHERE name = 'money'") == [
        (True,)
    ]
    assert (await client.post(f"{API}/queues/money/resume", headers=ADMIN)).json()[
        "paused"
    ] is False
    kept = enqueue(
        db_dsn,
        "communication",
        "send-push",
        {"userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02", "title": "a", "body": "x"},
    )
    done = enqueue(
        db_dsn,
        "communication",
        "send-push",
        {"userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02", "title": "b", "body": "x"},
    )
    sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s",
        (done,),
    )
    cleared = await client.post(
        f"{API}/queues/communication/clear?type=completed", headers=ADMIN
    )
    assert cleared.json() == {
        "queue": "communication",
        "type": "completed",
        "removed": 1,
        "action": "cleared completed",
        "message": "Queue has been cleared",
    }
    waiting = await client.post(
        f"{API}/queues/communication/clear?type=wait", headers=ADMIN
    )
    assert waiting.json()["removed"] == 1
    # The cleared waiting job's key is released: the same push can be enqueued again.
    again = enqueue(
        db_dsn,
        "communication",
        "send-push",
        {"userId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02", "title": "a", "body": "x"},
    )
    assert again != kept
    bad = await client.post(
        f"{API}/queues/communication/clear?type=everything", headers=ADMIN
    )
    assert (
        bad.status_code == 422 and bad.json()["errors"][0]["pointer"] == "/query/type"
    )
    actions = [
        a for (a,) in sql(db_dsn, "SELECT action FROM queue.audit_log ORDER BY id")
    ]
    assert actions == ["queue.pause", "queue.resume", "queue.clear", "queue.clear"]


async def test_queue_config_reads_and_changes_policy(client, db_dsn):
    config = (await client.get(f"{API}/queues/money/config", headers=ADMIN)).json()
    assert (
        config["maxAttempts"],
        config["backoff"],
        config["backoffCapS"],
        config["keepSucceededS"],
    ) == (10, "exponential", 3600, 90 * 86400)
    changed = await client.patch(
        f"{API}/queues/money/config",
        json={"maxAttempts": 7, "concurrency": 3},
        headers=ADMIN,
    )
    assert changed.status_code == 200 and (
        changed.json()["maxAttempts"],
        changed.json()["concurrency"],
    ) == (7, 3)
    broken = await client.patch(
        f"{API}/queues/money/config", json={"backoffBaseS": 7200}, headers=ADMIN
    )
    assert (
        broken.status_code == 422
        and "queues_backoff_cap_s_check" in broken.json()["detail"]
    )
    unknown = await client.patch(
        f"{API}/queues/money/config",
        json={"maxAttempts": 7, "colour": "red"},
        headers=ADMIN,
    )
    assert unknown.status_code == 422
    assert sql(
        db_dsn,
        "SELECT max_attempts, backoff_base_s FROM queue.queues WHERE name = 'money'",
    ) == [(7, 2.0)]
    assert sql(
        db_dsn, "SELECT details FROM queue.audit_log WHERE action = 'queue.config'"
    ) == [({"max_attempts": 7, "concurrency": 3},)]


async def test_queue_config_sets_the_execution_timeout(client, db_dsn):
    config = (await client.get(f"{API}/queues/money/config", headers=ADMIN)).json()
    assert config["executionTimeoutS"] == 300
    changed = await client.patch(
        f"{API}/queues/money/config", json={"executionTimeoutS": 90}, headers=ADMIN
    )
    assert changed.status_code == 200 and changed.json()["executionTimeoutS"] == 90
    assert sql(
        db_dsn,
        "SELECT extract(epoch FROM execution_timeout) FROM queue.queues WHERE name = 'money'",
    ) == [(90,)]
    for zero_or_days in (0, 2 * 86400):
        refused = await client.patch(
            f"{API}/queues/money/config",
            json={"executionTimeoutS": zero_or_days},
            headers=ADMIN,
        )
        assert refused.status_code == 422


@pytest.mark.parametrize(
    "field",
    ["alertMaxWaiting", "alertMaxFailedPerHour", "alertMaxOldestAgeS", "concurrency"],
)
async def test_queue_config_refuses_numbers_out_of_range_with_a_pointer(
    client, db_dsn, field
):
    answer = await client.patch(
        f"{API}/queues/money/config", json={field: 2**40}, headers=ADMIN
    )

    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["pointer"] for e in problem["errors"]] == [f"/{field}"]


async def test_rate_limit_endpoints_answer_from_the_table(client, db_dsn):
    status = (
        await client.get(f"{API}/rate-limits/status/stripe", headers=ADMIN)
    ).json()
    assert (
        status["ratePerSecond"],
        status["burst"],
        status["maxConcurrent"],
        status["tokens"],
    ) == (25, 50, 10, 50)
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 0, refilled_at = now() WHERE name = 'twilio'",
    )
    check = (
        await client.get(f"{API}/rate-limits/check/twilio-sms", headers=ADMIN)
    ).json()
    assert (
        check["allowed"] is False
        and "twilio has no token" in check["reason"]
        and 0 < check["waitMs"] <= 1001
    )
    sql(
        db_dsn,
        "INSERT INTO queue.rate_limit_leases (bucket, expires_at) SELECT 'minting', now() + interval '1 minute' "
        "FROM generate_series(1, 5)",
    )
    busy = (await client.get(f"{API}/rate-limits/check/minting", headers=ADMIN)).json()
    assert busy["allowed"] is False and "5 calls in flight" in busy["reason"]
    reset = (await client.post(f"{API}/rate-limits/reset/twilio", headers=ADMIN)).json()
    assert reset["tokens"] >= 10 - 0.01
    stopped = (
        await client.post(
            f"{API}/rate-limits/emergency-stop",
            json={"services": ["stripe"], "reason": "fraud"},
            headers=ADMIN,
        )
    ).json()
    assert stopped == {
        "services": ["stripe"],
        "paused": True,
        "status": "stopped",
        "message": "Rate limiters stripe have been paused",
    }
    assert (await client.get(f"{API}/rate-limits/check/stripe", headers=ADMIN)).json()[
        "allowed"
    ] is False
    everything = (await client.post(f"{API}/rate-limits/resume", headers=ADMIN)).json()
    assert everything["paused"] is False and "stripe" in everything["services"]
    missing = await client.post(
        f"{API}/rate-limits/emergency-stop", json={"services": ["nope"]}, headers=ADMIN
    )
    assert missing.status_code == 404
    actions = [
        a for (a,) in sql(db_dsn, "SELECT action FROM queue.audit_log ORDER BY id")
    ]
    assert actions == [
        "rate_limit.reset",
        "rate_limit.emergency_stop",
        "rate_limit.resume",
    ]


async def test_rate_limit_check_reports_an_open_breaker(client, db_dsn):
    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5, "
        "retry_at = now() + interval '20 seconds' WHERE provider = 'twilio'",
    )

    check = (
        await client.get(f"{API}/rate-limits/check/twilio-sms", headers=ADMIN)
    ).json()
    status = (
        await client.get(f"{API}/rate-limits/status/twilio-sms", headers=ADMIN)
    ).json()
    internal = (
        await client.get(f"{API}/rate-limits/status/internal", headers=ADMIN)
    ).json()

    assert check["allowed"] is False
    assert check["reason"] == "the twilio circuit breaker is open"
    assert 15_000 < check["waitMs"] <= 20_001
    assert status["breakerState"] == "open" and status["breakerRetryAt"]
    assert internal["breakerState"] is None


async def test_metrics_endpoints_read_outcomes(client, db_dsn):
    sql(
        db_dsn,
        """
        INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, error_type, error_message,
                                        started_at, finished_at)
        SELECT i, 'communication', 'send-sms', 1, CASE WHEN i % 4 = 0 THEN 'failed' ELSE 'succeeded' END,
               CASE WHEN i % 4 = 0 THEN 'ProviderNotConfigured' END, CASE WHEN i % 4 = 0 THEN 'no twilio' END,
               now() - interval '2 minutes', now() - interval '1 minute'
        FROM generate_series(1, 20) AS i""",
    )
    summary = (await client.get(f"{API}/metrics/summary", headers=ADMIN)).json()
    assert {(o["queue"], o["status"], o["attempts"]) for o in summary["outcomes"]} == {
        ("communication", "failed", 5),
        ("communication", "succeeded", 15),
    }
    assert summary["totals"]["completedLastHour"] == 15
    throughput = (
        await client.get(
            f"{API}/metrics/throughput?minutes=10&queue=communication", headers=ADMIN
        )
    ).json()["throughput"]
    assert (
        sum(p["completed"] for p in throughput) == 15
        and sum(p["failed"] for p in throughput) == 5
    )
    failures = (await client.get(f"{API}/metrics/failures", headers=ADMIN)).json()
    assert failures["total"] == 5
    assert failures["byType"] == [
        {"queue": "communication", "jobType": "send-sms", "failed": 5, "retried": 0}
    ]
    assert failures["topErrors"][0] == {
        "errorType": "ProviderNotConfigured",
        "message": "no twilio",
        "occurrences": 5,
    }
    text = (await client.get(f"{API}/metrics/prometheus", headers=ADMIN)).text
    assert 'queue_depth{queue_name="money",status="waiting"}' in text


async def test_alerts_list_acknowledge_and_test(client, db_dsn):
    sql(
        db_dsn,
        "INSERT INTO queue.alert_history (severity, type, queue_name, message) VALUES "
        "('critical', 'depth', 'money', 'money is deep'), ('warning', 'age', 'communication', 'old')",
    )
    critical = (
        await client.get(f"{API}/alerts?severity=critical", headers=ADMIN)
    ).json()["alerts"]
    assert [a["message"] for a in critical] == ["money is deep"]
    oncall = auth("monitoring", sub="oncall-7")
    acked = (
        await client.post(
            f"{API}/alerts/{critical[0]['id']}/acknowledge", headers=oncall
        )
    ).json()
    assert acked["acknowledged"] is True and acked["acknowledgedBy"] == "oncall-7"
    missing = await client.post(f"{API}/alerts/999999/acknowledge", headers=oncall)
    assert missing.status_code == 404
    sent = await client.post(
        f"{API}/alerts/test", json={"severity": "warning"}, headers=ADMIN
    )
    assert sent.status_code == 200 and sent.json()["channels"] == {"log": "sent"}
    sms = await client.post(
        f"{API}/alerts/test", json={"channel": "sms"}, headers=ADMIN
    )
    assert (
        sms.status_code == 422
        and sms.json()["type"] == "/problems/channel-not-configured"
    )
    assert (await client.get(f"{API}/alerts?limit=10", headers=ADMIN)).json()[
        "count"
    ] == 3


async def test_queue_config_takes_camel_case_keys_only(client, db_dsn):
    snake = await client.patch(
        f"{API}/queues/money/config", json={"max_attempts": 7}, headers=ADMIN
    )
    assert snake.status_code == 422, snake.text
    assert [e["pointer"] for e in snake.json()["errors"]] == ["/max_attempts"]
    cleared = await client.patch(
        f"{API}/queues/money/config",
        json={"clearBackoffCap": True, "backoffFactor": 3},
        headers=ADMIN,
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["backoffCapS"], cleared.json()["backoffFactor"]) == (
        None,
        3,
    )
    assert sql(
        db_dsn,
        "SELECT max_attempts, backoff_factor, backoff_cap_s FROM queue.queues"
        " WHERE name = 'money'",
    ) == [(10, 3.0, None)]
    assert sql(
        db_dsn, "SELECT details FROM queue.audit_log WHERE action = 'queue.config'"
    ) == [({"backoff_factor": 3},)]
