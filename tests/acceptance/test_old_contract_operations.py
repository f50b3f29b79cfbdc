"""The old documentation's rate-limit, metrics, alert and health endpoints (12-25).

Each example response is copied from the old service's documentation; a
response must carry every field of the example with its JSON type. Where the
old document showed no Authorization header (the rate-limit check, throughput,
failures), a token is still required: what they answer is operational data,
and every endpoint but the probes and /metrics needs one (docs/security.md).
"""

from psycopg.types.json import Jsonb

from tests.helpers.api import auth
from tests.helpers.old_contract import (
    API,
    USER,
    add_worker,
    assert_old_shape,
    enqueue,
    run_to,
    sql,
)

ADMIN = auth("admin", sub="ops")

# 12. Get Rate Limit Status: the bucket's state under its own name.
RATE_LIMIT_STATUS_RESPONSE = {
    "stripe": {
        "tokensAvailable": 25,
        "concurrent": 3,
        "maxConcurrent": 10,
        "lastActivity": "2025-01-15T10:05:30Z",
        "config": {
            "maxPerSecond": 25,
            "maxConcurrent": 10,
            "burstSize": 50,
            "cooldownMs": 1000,
        },
    }
}
# 13. Check If Rate Limited (both of the document's examples).
CHECK_RESPONSE = {
    "service": "stripe",
    "rateLimited": False,
    "waitTimeMs": 0,
    "waitTimeSeconds": 0,
}
LIMITED_RESPONSE = {
    "service": "sendgrid",
    "rateLimited": True,
    "waitTimeMs": 2500,
    "waitTimeSeconds": 3,
}
# 14. Reset Rate Limit, 15. Emergency Stop, 16. Resume After Emergency Stop.
RESET_RESPONSE = {
    "service": "stripe",
    "status": "reset",
    "message": "Rate limiter for stripe has been reset",
}
STOP_RESPONSE = {"status": "stopped", "message": "All rate limiters have been paused"}
RESUMED_RESPONSE = {
    "status": "resumed",
    "message": "All rate limiters have been resumed",
}

# 18. Metrics Summary (JSON).
SUMMARY_RESPONSE = {
    "queues": [
        {
            "queue_name": "money-queue",
            "avg_waiting": 4.5,
            "max_waiting": 12,
            "avg_active": 2.1,
            "avg_failed": 0.3,
        }
    ],
    "alerts": [
        {"severity": "critical", "count": 2},
        {"severity": "warning", "count": 15},
    ],
    "timestamp": "2025-01-15T10:10:00Z",
}
# 19. Queue Throughput.
THROUGHPUT_RESPONSE = {
    "throughput": [
        {
            "queue_name": "money-queue",
            "minute": "2025-01-15T10:09:00Z",
            "jobs_per_minute": 25,
        }
    ],
    "timestamp": "2025-01-15T10:10:00Z",
}
# 20. Failure Analysis.
FAILURES_RESPONSE = {
    "trends": [
        {
            "queue_name": "money-queue",
            "hour": "2025-01-15T10:00:00Z",
            "avg_failures": 0.5,
        }
    ],
    "topFailures": [
        {
            "queue_name": "money-queue",
            "job_type": "payment-process",
            "count": 15,
            "last_failure": "2025-01-15T10:05:00Z",
        }
    ],
    "timestamp": "2025-01-15T10:10:00Z",
}

# 21. Get Recent Alerts.
ALERTS_RESPONSE = {
    "alerts": [
        {
            "id": 123,
            "severity": "critical",
            "alert_type": "queue_depth",
            "message": "CRITICAL: Money queue has 75 jobs waiting!",
            "queue_name": "money-queue",
            "metric_value": 75,
            "threshold_value": 50,
            "acknowledged": False,
            "created_at": "2025-01-15T10:00:00Z",
        }
    ],
    "count": 5,
}
# 22. Acknowledge Alert, 23. Test Alert System.
ACKNOWLEDGED_RESPONSE = {
    "alertId": "123",
    "status": "acknowledged",
    "acknowledgedBy": "user-uuid",
}
TEST_ALERT = {"severity": "info", "channel": "log"}
TEST_ALERT_RESPONSE = {
    "status": "sent",
    "severity": "info",
    "channel": "log",
    "message": "Test alert sent successfully",
}

# 24. Health Check, 25. Readiness Check.
HEALTH_RESPONSE = {
    "status": "healthy",
    "checks": {
        "service": "healthy",
        "database": "healthy",
        "redis": "healthy",
        "queues": "healthy",
    },
    "timestamp": "2025-01-15T10:10:00Z",
}
READY_RESPONSE = {"status": "ready", "timestamp": "2025-01-15T10:10:00Z"}

# A top-level list of ours where the old service answered an object holding
# the list (throughput, alerts): our clients read the list, so it stays one;
# its items carry the old items' fields. See the test of each.


def _raise_alert(dsn: str, severity: str, alert_type: str) -> int:
    ((alert_id,),) = sql(
        dsn,
        "SELECT queue.raise_alert(%s, %s, 'money', 75, 50, %s, %s)",
        (
            severity,
            alert_type,
            "CRITICAL: Money queue has 75 jobs waiting!",
            Jsonb({"log": "sent"}),
        ),
    )
    return int(alert_id)


async def test_rate_limit_status_answers_the_old_shape(client):
    status = await client.get(f"{API}/rate-limits/status/stripe", headers=ADMIN)

    assert status.status_code == 200, status.text
    assert_old_shape(status.json(), RATE_LIMIT_STATUS_RESPONSE)
    old = status.json()["stripe"]
    assert (old["config"]["maxPerSecond"], old["config"]["burstSize"]) == (25, 50)


async def test_rate_limit_check_answers_the_old_shape(client, db_dsn):
    allowed = await client.get(f"{API}/rate-limits/check/stripe", headers=ADMIN)
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 0, refilled_at = now() WHERE name = 'sendgrid'",
    )
    limited = await client.get(f"{API}/rate-limits/check/sendgrid", headers=ADMIN)

    assert allowed.status_code == limited.status_code == 200
    assert_old_shape(allowed.json(), CHECK_RESPONSE)
    assert_old_shape(limited.json(), LIMITED_RESPONSE)
    body = limited.json()
    assert body["rateLimited"] is True and body["waitTimeMs"] > 0
    assert body["waitTimeSeconds"] == -(-body["waitTimeMs"] // 1000)


async def test_operational_reads_need_a_token_as_every_endpoint_does(client):
    for path in ("rate-limits/check/stripe", "metrics/throughput", "metrics/failures"):
        anonymous = await client.get(f"{API}/{path}")
        assert anonymous.status_code == 401, (path, anonymous.text)


async def test_rate_limit_reset_answers_the_old_shape(client):
    reset = await client.post(f"{API}/rate-limits/reset/stripe", headers=ADMIN)

    assert reset.status_code == 200, reset.text
    assert_old_shape(reset.json(), RESET_RESPONSE)


async def test_emergency_stop_and_resume_answer_the_old_shape(client):
    stopped = await client.post(f"{API}/rate-limits/emergency-stop", headers=ADMIN)
    resumed = await client.post(f"{API}/rate-limits/resume", headers=ADMIN)

    assert stopped.status_code == resumed.status_code == 200
    assert_old_shape(stopped.json(), STOP_RESPONSE)
    assert_old_shape(resumed.json(), RESUMED_RESPONSE)


async def test_prometheus_metrics_are_text(client):
    scraped = await client.get(f"{API}/metrics/prometheus", headers=ADMIN)

    assert scraped.status_code == 200, scraped.text
    assert scraped.headers["content-type"].startswith("text/plain")


async def test_metrics_summary_answers_the_old_shape(client, db_dsn):
    enqueue(
        db_dsn, "money", "refund-process", {"transactionId": "pi_1", "userId": USER}
    )
    sql(db_dsn, "SELECT queue.capture_queue_metrics()")
    enqueue(
        db_dsn, "money", "refund-process", {"transactionId": "pi_2", "userId": USER}
    )
    sql(db_dsn, "SELECT queue.capture_queue_metrics()")
    _raise_alert(db_dsn, "critical", "queue_depth")
    _raise_alert(db_dsn, "warning", "job_age")

    summary = await client.get(f"{API}/metrics/summary", headers=ADMIN)

    assert summary.status_code == 200, summary.text
    assert_old_shape(summary.json(), SUMMARY_RESPONSE)
    money = next(q for q in summary.json()["queues"] if q["queue_name"] == "money")
    # The old query's mean and peak of the hour's two snapshots (1, then 2 waiting).
    assert (money["max_waiting"], money["avg_waiting"]) == (2, 1.5)
    assert sorted((a["severity"], a["count"]) for a in summary.json()["alerts"]) == [
        ("critical", 1),
        ("warning", 1),
    ]


async def test_metrics_throughput_items_answer_the_old_shape(client, db_dsn):
    enqueue(
        db_dsn, "money", "refund-process", {"transactionId": "pi_1", "userId": USER}
    )
    run_to(db_dsn, "money", "succeeded")

    throughput = await client.get(f"{API}/metrics/throughput", headers=ADMIN)

    assert throughput.status_code == 200, throughput.text
    assert_old_shape(throughput.json(), THROUGHPUT_RESPONSE)
    assert throughput.json()["throughput"][0]["jobs_per_minute"] == 1


async def test_metrics_failures_answer_the_old_shape(client, db_dsn):
    for i in range(2):
        enqueue(
            db_dsn,
            "money",
            "refund-process",
            {"transactionId": f"pi_{i}", "userId": USER},
        )
    run_to(db_dsn, "money", "failed", error=("CardError", "card_declined"))

    failures = await client.get(f"{API}/metrics/failures", headers=ADMIN)

    assert failures.status_code == 200, failures.text
    assert_old_shape(failures.json(), FAILURES_RESPONSE)
    (top,) = failures.json()["topFailures"]
    assert (top["queue_name"], top["job_type"], top["count"]) == (
        "money",
        "refund-process",
        2,
    )
    assert sum(t["avg_failures"] for t in failures.json()["trends"]) == 2


async def test_alerts_items_answer_the_old_shape(client, db_dsn):
    _raise_alert(db_dsn, "critical", "queue_depth")

    alerts = await client.get(f"{API}/alerts?severity=critical&limit=50", headers=ADMIN)

    assert alerts.status_code == 200, alerts.text
    assert_old_shape(alerts.json(), ALERTS_RESPONSE)
    assert alerts.json()["count"] == 1
    assert alerts.json()["alerts"][0]["alert_type"] == "queue_depth"


async def test_acknowledge_answers_the_old_shape(client, db_dsn):
    alert_id = _raise_alert(db_dsn, "critical", "queue_depth")

    acked = await client.post(
        f"{API}/alerts/{alert_id}/acknowledge", headers=auth("monitoring", sub="u-9")
    )

    assert acked.status_code == 200, acked.text
    assert_old_shape(acked.json(), ACKNOWLEDGED_RESPONSE)
    assert (acked.json()["alertId"], acked.json()["acknowledgedBy"]) == (
        str(alert_id),
        "u-9",
    )


async def test_test_alert_takes_the_old_body_and_answers_the_old_shape(client):
    sent = await client.post(f"{API}/alerts/test", json=TEST_ALERT, headers=ADMIN)

    assert sent.status_code == 200, sent.text
    assert_old_shape(sent.json(), TEST_ALERT_RESPONSE)
    assert (sent.json()["status"], sent.json()["channel"]) == ("sent", "log")


async def test_test_alert_takes_the_old_phone_channel_as_a_voice_call(client):
    # The old "phone" channel is a voice call. Without ONCALL_PHONE and
    # Twilio there is no one to call: refused, where the old service said
    # "sent" without calling anyone.
    phone = await client.post(
        f"{API}/alerts/test",
        json={"severity": "critical", "channel": "phone"},
        headers=ADMIN,
    )

    assert phone.status_code == 422, phone.text
    assert phone.json()["type"] == "/problems/channel-not-configured"


async def test_old_health_probe_answers_the_old_shape_without_a_token(client, db_dsn):
    no_worker = await client.get(f"{API}/health")
    add_worker(db_dsn, "money")
    healthy = await client.get(f"{API}/health")

    assert healthy.status_code == 200, healthy.text
    assert_old_shape(healthy.json(), HEALTH_RESPONSE)
    assert healthy.json()["status"] == "healthy"
    # No Redis: the check reports the database, which holds the queues.
    assert healthy.json()["checks"]["redis"] == healthy.json()["checks"]["database"]
    # Degraded, 503 as before, while no worker heartbeats.
    assert no_worker.status_code == 503, no_worker.text
    assert_old_shape(no_worker.json(), HEALTH_RESPONSE)
    assert (no_worker.json()["status"], no_worker.json()["checks"]["database"]) == (
        "degraded",
        "healthy",
    )


async def test_old_readiness_probe_answers_the_old_shape_without_a_token(client):
    ready = await client.get(f"{API}/health/ready")

    assert ready.status_code == 200, ready.text
    assert_old_shape(ready.json(), READY_RESPONSE)
    assert ready.json()["status"] == "ready"
