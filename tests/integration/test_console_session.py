"""The console's session: who may sign in, the cookie it keeps, CSRF on every
action, the roles' rights, and the overview it opens on."""

import time

import jwt
import psycopg
import pytest

from app.api.auth import issue_token
from app.domain.access import Role
from tests.helpers.api import SECRET, api_client, token
from tests.helpers.console import csrf_token, post_form, sign_in


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def _expired_admin_token() -> str:
    now = int(time.time())
    claims = {"sub": "x", "iat": now - 60, "exp": now - 30, "extras": {"role": "admin"}}
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def test_a_page_without_a_session_sends_to_sign_in(db_dsn):
    async with api_client(db_dsn) as client:
        answer = await client.get("/console/jobs", follow_redirects=False)
        htmx = await client.get("/console", headers={"HX-Request": "true"})
    assert (answer.status_code, answer.headers["location"]) in (
        (302, "/console/sign-in"),
        (303, "/console/sign-in"),
    )
    assert (htmx.status_code, htmx.headers["HX-Redirect"]) == (401, "/console/sign-in")


async def test_signing_in_keeps_the_token_in_a_strict_http_only_cookie(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await csrf_token(client)
        encoded = token("monitoring", "watcher@example.com")
        answer = await client.post(
            "/console/sign-in",
            data={"token": encoded, "_csrf_token": csrf},
            follow_redirects=False,
        )
        overview = await client.get("/console")
    cookie = answer.headers["set-cookie"]
    assert f"queue_console={encoded};" in cookie
    assert "HttpOnly" in cookie
    assert "Path=/console" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=" in cookie  # gone when the token expires
    assert overview.status_code == 200
    assert "watcher@example.com · monitoring" in overview.text


@pytest.mark.parametrize(
    ("encoded", "error"),
    [
        ("not-a-token", "invalid"),
        (
            issue_token(
                secret="another-secret-of-enough-length-xx",  # noqa: S106 - a wrong key on purpose
                role=Role.ADMIN,
                sub="x",
            ),
            "invalid",
        ),
        (_expired_admin_token(), "invalid"),
        (token("venue_admin", venues=("v1",)), "role"),
        (token("user"), "role"),
    ],
    ids=["garbage", "other-key", "expired", "venue-admin", "user"],
)
async def test_a_token_the_console_does_not_take_is_refused_with_a_reason(
    db_dsn, encoded, error
):
    async with api_client(db_dsn) as client:
        csrf = await csrf_token(client)
        answer = await client.post(
            "/console/sign-in",
            data={"token": encoded, "_csrf_token": csrf},
            follow_redirects=False,
        )
        page = await client.get(answer.headers["location"])
        after = await client.get("/console", follow_redirects=False)
    assert answer.headers["location"] == f"/console/sign-in?error={error}"
    assert "queue_console=" not in answer.headers.get("set-cookie", "")
    assert 'role="alert"' in page.text
    assert after.status_code in (302, 303)


async def test_a_bearer_header_is_not_a_console_session_for_a_post(db_dsn):
    # The console's forms need the CSRF token whatever authenticates them.
    async with api_client(db_dsn) as client:
        answer = await client.post(
            "/console/queues/money/pause",
            headers={"Authorization": f"Bearer {token('admin')}"},
            follow_redirects=False,
        )
    assert answer.status_code == 403
    assert sql(db_dsn, "SELECT paused FROM queue.queues WHERE name = 'money'") == [
        (False,)
    ]


async def test_an_action_without_its_csrf_token_changes_nothing(db_dsn):
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        missing = await client.post(
            "/console/queues/money/pause", follow_redirects=False
        )
        forged = await post_form(client, "/console/queues/money/pause", "0" * 64)
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert "CSRF" in missing.text
    assert sql(db_dsn, "SELECT paused FROM queue.queues WHERE name = 'money'") == [
        (False,)
    ]


async def test_admin_pauses_and_resumes_a_queue_audited(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        paused = await post_form(client, "/console/queues/money/pause", csrf)
        page = await client.get(paused.headers["location"])
        after_pause = sql(
            db_dsn, "SELECT paused FROM queue.queues WHERE name = 'money'"
        )
        resumed = await post_form(client, "/console/queues/money/resume", csrf)
    assert (paused.status_code, paused.headers["location"]) == (
        303,
        "/console?notice=paused",
    )
    assert after_pause == [(True,)]
    assert 'data-queue="money"' in page.text and "Queue paused" in page.text
    assert "Resume money" in page.text
    assert resumed.status_code == 303
    assert sql(db_dsn, "SELECT paused FROM queue.queues WHERE name = 'money'") == [
        (False,)
    ]
    assert sql(
        db_dsn,
        "SELECT actor, role, action, target FROM queue.audit_log ORDER BY id",
    ) == [
        ("ops@example.com", "admin", "queue.pause", "queue:money"),
        ("ops@example.com", "admin", "queue.resume", "queue:money"),
    ]


async def test_monitoring_watches_and_cannot_act(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        page = await client.get("/console")
        refused = await post_form(client, "/console/queues/money/pause", csrf)
    assert page.status_code == 200
    assert "Pause money" not in page.text
    assert refused.status_code == 403
    assert "the monitoring role may not do this here" in refused.text
    assert sql(db_dsn, "SELECT count(*) FROM queue.audit_log") == [(0,)]


async def test_an_unknown_queue_is_a_page_that_says_so(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(client, "/console/queues/nope/pause", csrf)
    assert answer.status_code == 404
    assert "nope" in answer.text and "<html" in answer.text


async def test_the_overview_shows_each_queue_s_counts(db_dsn):
    for _ in range(3):
        sql(
            db_dsn,
            "SELECT queue.enqueue('background', 'analytics-track', '{\"eventType\": \"x\"}')",
        )
    sql(db_dsn, "UPDATE queue.queues SET paused = true WHERE name = 'communication'")
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console")
    row = page.text.split('data-queue="background"')[1].split("</tr>")[0]
    assert 'data-field="waiting">3<' in row
    paused = page.text.split('data-queue="communication"')[1].split("</tr>")[0]
    assert "badge paused" in paused
    assert page.text.count("<svg") == 4


async def test_sign_out_forgets_the_session(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        out = await post_form(client, "/console/sign-out", csrf)
        after = await client.get("/console", follow_redirects=False)
    assert out.status_code == 303
    assert (
        'queue_console=""' in out.headers["set-cookie"]
        or "Max-Age=0" in out.headers["set-cookie"]
    )
    assert after.status_code in (302, 303)


async def test_the_token_secret_never_reaches_the_page(db_dsn):
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get("/console")
    assert SECRET not in page.text
    assert token("admin").split(".")[0] not in page.text  # no token echoed


async def test_assets_are_served_from_the_package_without_a_session(db_dsn):
    async with api_client(db_dsn) as client:
        htmx = await client.get("/console/static/vendor/htmx-2.0.11.min.js")
        css = await client.get("/console/static/console.css")
        escape = await client.get("/console/static/../session.py")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:2000]
    assert css.status_code == 200
    assert escape.status_code == 404


async def test_an_event_stream_without_a_session_says_so_and_ends(db_dsn):
    # EventSource cannot follow a redirect to a page: the stream says the
    # session ended (the page shows it and closes the stream).
    async with api_client(db_dsn) as client:
        answer = await client.get(
            "/console/events", headers={"Accept": "text/event-stream"}
        )
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.text.startswith("event: signed-out\ndata: ")
    assert 'href="/console/sign-in"' in answer.text


async def test_a_database_that_does_not_answer_is_a_page_to_retry(db_dsn):
    # Nothing listens on port 1: every checkout fails within the acquire timeout.
    unreachable = "postgresql://postgres@127.0.0.1:1/postgres?connect_timeout=1"
    async with api_client(unreachable, db_acquire_timeout_s=0.5) as client:
        await sign_in(client, "monitoring")  # the session needs no database
        page = await client.get("/console")
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["retry-after"] == "2"
    assert "<h1>Unavailable</h1>" in page.text
    assert "The database is not answering" in page.text


async def test_a_form_value_that_does_not_parse_is_a_page_naming_it(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(
            client,
            "/console/failures/retry",
            csrf,
            queue="money",
            job_type="refund-process",
            upto="not-a-number",
        )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "upto" in answer.text
