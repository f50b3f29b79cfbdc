"""Every endpoint and every role: 200/201 for those allowed, 401 without a token,
403 for a role that may not, 404 for what a caller may not see or what is not there."""

from datetime import timedelta

import psycopg
import pytest
from litestar.testing import AsyncTestClient
from psycopg.types.json import Jsonb

from app.api.app import create_app
from app.api.auth import issue_token
from app.domain.access import Role
from app.domain.job_types import CATALOGUE
from app.settings import ApiSettings, DatabaseSettings, Settings
from tests.helpers.api import SECRET, auth

QUEUES = "/api/v1/queue/queues"

API = "/api/v1/queue"
VENUE = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"
ROLES = {
    "admin": auth("admin", sub="root"),
    "venue_admin": auth("venue_admin", sub="va", venues=(VENUE,)),
    "user": auth("user", sub="someone-else"),
    "monitoring": auth("monitoring", sub="oncall"),
    "none": {},
}
ENQ = {"admin": 201, "venue_admin": 201, "user": 201, "monitoring": 403}
SEE = {"admin": 200, "venue_admin": 200, "user": 404, "monitoring": 403}
MANAGE = {"admin": 200, "venue_admin": 200, "user": 403, "monitoring": 403}
OBSERVE = {"admin": 200, "venue_admin": 403, "user": 403, "monitoring": 200}
ADMIN = {"admin": 200, "venue_admin": 403, "user": 403, "monitoring": 403}
EVENT = {"eventType": "seat_viewed", "venueId": VENUE}

# (method, path, body, expected per role); {failed}, {waiting} and {alert} are filled in.
ENDPOINTS = [
    (
        "POST",
        "/jobs",
        {"queue": "background", "type": "analytics-track", "data": EVENT},
        ENQ,
    ),
    (
        "POST",
        "/jobs/batch",
        {"queue": "background", "jobs": [{"type": "analytics-track", "data": EVENT}]},
        ENQ,
    ),
    ("GET", "/jobs/{failed}", None, SEE),
    ("GET", "/jobs/{failed}/outcomes", None, SEE),
    ("GET", "/jobs/{waiting}/explain", None, SEE),
    (
        "GET",
        "/jobs/999999",
        None,
        {"admin": 404, "venue_admin": 404, "user": 404, "monitoring": 403},
    ),
    ("POST", "/jobs/{failed}/retry", None, MANAGE),
    ("DELETE", "/jobs/{waiting}", None, MANAGE),
    ("GET", "/queues", None, OBSERVE),
    ("GET", "/queues/money/status", None, OBSERVE),
    (
        "GET",
        "/queues/nope/status",
        None,
        {"admin": 404, "venue_admin": 403, "user": 403, "monitoring": 404},
    ),
    ("POST", "/queues/money/pause", None, ADMIN),
    ("POST", "/queues/money/resume", None, ADMIN),
    ("POST", "/queues/money/clear?type=completed", None, ADMIN),
    ("GET", "/queues/background/jobs?status=failed", None, OBSERVE),
    ("GET", "/queues/money/config", None, OBSERVE),
    ("PATCH", "/queues/money/config", {"maxAttempts": 9}, ADMIN),
    ("GET", "/rate-limits/status/stripe", None, OBSERVE),
    (
        "GET",
        "/rate-limits/status/nope",
        None,
        {"admin": 404, "venue_admin": 403, "user": 403, "monitoring": 404},
    ),
    ("GET", "/rate-limits/check/twilio-sms", None, OBSERVE),
    ("POST", "/rate-limits/reset/stripe", None, ADMIN),
    ("POST", "/rate-limits/emergency-stop", {"reason": "drill"}, ADMIN),
    ("POST", "/rate-limits/resume", {}, ADMIN),
    ("GET", "/metrics/prometheus", None, OBSERVE),
    ("GET", "/metrics/summary", None, OBSERVE),
    ("GET", "/metrics/throughput", None, OBSERVE),
    ("GET", "/metrics/failures", None, OBSERVE),
    ("GET", "/alerts", None, OBSERVE),
    ("POST", "/alerts/{alert}/acknowledge", None, OBSERVE),
    ("POST", "/alerts/test", {"severity": "info"}, ADMIN),
    ("GET", "/schedules", None, OBSERVE),
    ("GET", "/schedules/cleanup-old-data", None, OBSERVE),
    (
        "GET",
        "/schedules/nope",
        None,
        {"admin": 404, "venue_admin": 403, "user": 403, "monitoring": 404},
    ),
    (
        "POST",
        "/schedules",
        {"name": "nightly", "cron": "0 3 * * *", "type": "cleanup-old-data"},
        {**ADMIN, "admin": 201},
    ),
    ("PATCH", "/schedules/cleanup-old-data", {"active": True}, ADMIN),
    ("DELETE", "/schedules/reconciliation-report", None, ADMIN),
]


@pytest.fixture
def ids(db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        meta = Jsonb({"user_id": "owner", "venue_id": VENUE})
        (failed,) = conn.execute(
            "SELECT job_id FROM queue.enqueue('background', 'analytics-track', %s, meta => %s)",
            (Jsonb(EVENT), meta),
        ).fetchone()
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'failed', attempts = 2 WHERE id = %s",
            (failed,),
        )
        (waiting,) = conn.execute(
            "SELECT job_id FROM queue.enqueue('background', 'analytics-track', %s, meta => %s)",
            (Jsonb(EVENT), meta),
        ).fetchone()
        (alert,) = conn.execute(
            "INSERT INTO queue.alert_history (severity, type, message) VALUES ('warning', 'depth', 'deep') RETURNING id"
        ).fetchone()
    return {"failed": failed, "waiting": waiting, "alert": alert}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    ENDPOINTS,
    ids=[f"{m} {p}" for m, p, _, _ in ENDPOINTS],
)
async def test_role_matrix(client, ids, role, method, path, body, expected):
    response = await client.request(
        method, API + path.format(**ids), json=body, headers=ROLES[role]
    )
    want = 401 if role == "none" else expected[role]
    assert response.status_code == want, response.text
    if want >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["status"] == want


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/health/live", 200),
        ("/health/ready", 200),
        ("/health", 503),
        ("/metrics", 200),
        # The old service's probes, at its paths.
        ("/api/v1/queue/health/ready", 200),
        ("/api/v1/queue/health", 503),
    ],
)
async def test_open_endpoints_need_no_token(client, path, status):
    response = await client.get(path)
    assert response.status_code == status, response.text


async def test_expired_and_forged_tokens_are_refused(client):
    import time

    import jwt

    from tests.helpers.api import SECRET, token

    now = int(time.time())
    expired = jwt.encode(
        {"sub": "root", "role": "admin", "iat": now - 20, "exp": now - 10},
        SECRET,
        algorithm="HS256",
    )
    assert (
        await client.get(
            f"{API}/queues", headers={"Authorization": f"Bearer {expired}"}
        )
    ).status_code == 401
    forged = token("admin")[:-4] + "AAAA"
    assert (
        await client.get(f"{API}/queues", headers={"Authorization": f"Bearer {forged}"})
    ).status_code == 401


async def test_tokens_without_a_valid_role_are_refused(client):
    import time

    import jwt

    from tests.helpers.api import SECRET

    now = int(time.time())
    for claims in (
        {"role": "superuser"},
        {},
        {"role": "admin", "venues": "not-a-list"},
    ):
        forged = jwt.encode(
            {"sub": "x", "iat": now, "exp": now + 60, **claims},
            SECRET,
            algorithm="HS256",
        )
        response = await client.get(
            f"{API}/queues", headers={"Authorization": f"Bearer {forged}"}
        )
        assert response.status_code == 401, claims


async def test_issuer_audience_and_lifetime_are_enforced_when_configured(db_dsn):
    settings = Settings(
        env="test",
        database=DatabaseSettings(url=db_dsn),
        api=ApiSettings(
            jwt_secret=SECRET,
            jwt_issuer="ticketing-auth",
            jwt_audience="queue-service",
            jwt_max_ttl_s=3600,
        ),
    )

    def bearer(**claims):
        return {
            "Authorization": f"Bearer {issue_token(secret=SECRET, role=Role.ADMIN, sub='a', **claims)}"
        }

    async with AsyncTestClient(app=create_app(settings)) as client:
        good = bearer(issuer="ticketing-auth", audience="queue-service")
        assert (await client.get(QUEUES, headers=good)).status_code == 200
        for refused in (
            bearer(audience="queue-service"),  # no issuer
            bearer(issuer="someone-else", audience="queue-service"),
            bearer(issuer="ticketing-auth", audience="another-api"),
            bearer(
                issuer="ticketing-auth",
                audience="queue-service",
                ttl=timedelta(hours=2),
            ),
        ):
            response = await client.get(QUEUES, headers=refused)
            assert response.status_code == 401, response.text


VENUE_OF_ADMIN = "6b1d9a4e-8a55-4a57-9c1e-2d8f8f1f0a01"


@pytest.mark.parametrize("role", ["admin", "venue_admin", "user", "monitoring"])
async def test_who_may_enqueue_each_type_over_http(client, role):
    headers = auth(role, venues=(VENUE_OF_ADMIN,) if role == "venue_admin" else ())
    for name, entry in CATALOGUE.items():
        response = await client.post(
            "/api/v1/queue/jobs",
            # Empty but for the venue: allowed callers get past the role check
            # to payload validation (422), refused ones stop at it (403).
            json={
                "queue": entry.queue,
                "type": name,
                "data": {"venueId": VENUE_OF_ADMIN},
            },
            headers=headers,
        )
        allowed = Role(role) in entry.enqueue_roles
        if allowed:
            assert response.status_code in (201, 422), (name, response.text)
        else:
            assert response.status_code == 403, (name, response.text)
            if role != "monitoring":  # stopped by the route's guard before any type
                assert f"may not enqueue {name}" in response.json()["detail"]


async def test_a_venue_admin_cannot_refund_by_naming_their_own_venue(client):
    response = await client.post(
        "/api/v1/queue/jobs",
        json={
            "queue": "money",
            "type": "refund-process",
            "data": {"transactionId": "pi_someone_elses", "venueId": VENUE_OF_ADMIN},
        },
        headers=auth("venue_admin", venues=(VENUE_OF_ADMIN,)),
    )
    assert response.status_code == 403
    assert "allowed: admin" in response.json()["detail"]
