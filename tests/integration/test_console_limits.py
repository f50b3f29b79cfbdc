"""The console's provider limits page: every bucket and breaker as of now, and
an admin's emergency stop, resume and reset, audited as the API's are."""

import html
import re

import psycopg

from tests.helpers.api import api_client
from tests.helpers.console import post_form, sign_in


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def row(page: str, kind: str, name: str) -> str:
    """The table row of one bucket or breaker."""
    found = re.search(
        rf'<tr data-{kind}="{re.escape(name)}">(.*?)</tr>', page, re.DOTALL
    )
    assert found, f"no {kind} row {name}"
    return found.group(1)


def field(row_html: str, name: str) -> str:
    """A cell's text, tags dropped and spaces squeezed."""
    found = re.search(
        rf'<td[^>]*data-field="{name}"[^>]*>(.*?)</td>', row_html, re.DOTALL
    )
    assert found, f"no field {name}"
    text = re.sub(r"<[^>]+>", " ", found.group(1))
    return " ".join(html.unescape(text).split())


def audit(dsn):
    return sql(
        dsn,
        "SELECT actor, role, action, target, details FROM queue.audit_log ORDER BY id",
    )


def paused(dsn, name):
    return sql(dsn, "SELECT paused FROM queue.rate_limits WHERE name = %s", (name,))[0][
        0
    ]


async def test_the_page_shows_each_bucket_s_tokens_rate_leases_hold_and_stop(db_dsn):
    # quickbooks: 4 of 10 tokens, refilling so slowly the reading cannot move.
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET rate_per_s = 0.0001, tokens = 4, refilled_at = now() "
        "WHERE name = 'quickbooks'",
    )
    # sendgrid: a 429 halved its rate a moment ago; it recovers over ten hours.
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET rate_factor = 0.5, slowed_at = now(), recover_s = 36000 "
        "WHERE name = 'sendgrid'",
    )
    # twilio: a Retry-After holds it for an hour (the bucket refills from its end).
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 0, hold_until = now() + interval '1 hour', "
        "refilled_at = now() + interval '1 hour' WHERE name = 'twilio'",
    )
    # stripe: two calls in flight, and a lease that lapsed (not counted).
    sql(
        db_dsn,
        "INSERT INTO queue.rate_limit_leases (bucket, expires_at) VALUES "
        "('stripe', now() + interval '1 hour'), ('stripe', now() + interval '1 hour'), "
        "('stripe', now() - interval '1 second')",
    )
    sql(db_dsn, "UPDATE queue.rate_limits SET paused = true WHERE name = 'square'")
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console/limits")
    assert page.status_code == 200
    names = re.findall(r'<tr data-bucket="([^"]+)">', page.text)
    assert sorted(names) == sorted(
        name for (name,) in sql(db_dsn, "SELECT name FROM queue.rate_limits")
    )
    # A provider's buckets come together, the group's own first.
    assert names[names.index("twilio") : names.index("twilio") + 4] == [
        "twilio",
        "twilio-sms",
        "twilio-verify",
        "twilio-voice",
    ]
    quickbooks = row(page.text, "bucket", "quickbooks")
    assert 'data-tokens="4.000"' in quickbooks
    assert field(quickbooks, "tokens").endswith("4.0 / 10 (40%)")
    assert '<meter min="0" max="10" value="4.000"' in quickbooks
    assert field(quickbooks, "leases") == "0 / 3"
    assert field(quickbooks, "hold") == "none · cooldown 3 s after a 429"
    assert field(quickbooks, "state") == "live"
    sendgrid = row(page.text, "bucket", "sendgrid")
    assert field(sendgrid, "rate").startswith(
        "2.5/s slowed \N{MULTIPLICATION SIGN}0.50 of 5/s"
    )
    assert "back to full over 36000 s" in field(sendgrid, "rate")
    assert 'data-field="slowed"' not in quickbooks
    twilio = row(page.text, "bucket", "twilio")
    assert field(twilio, "hold").startswith("held 60 min more")
    assert field(twilio, "tokens").endswith("0.0 / 10 (0%)")
    assert field(row(page.text, "bucket", "stripe"), "leases") == "2 / 10"
    assert field(row(page.text, "bucket", "internal"), "breaker") == "none"
    square = row(page.text, "bucket", "square")
    assert field(square, "state") == "stopped"
    assert 'class="badge paused"' in square
    assert field(row(page.text, "bucket", "twilio-sms"), "breaker") == "closed"


async def test_the_page_shows_each_breaker_s_state_failures_and_times(db_dsn):
    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5, "
        "opened_at = now() - interval '5 minutes', retry_at = now() + interval '20 minutes', "
        "last_error = 'HTTP 503 from api.stripe.com' WHERE provider = 'stripe'",
    )
    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET state = 'half_open', failures = 5, "
        "opened_at = now() - interval '1 minute', retry_at = now() + interval '30 seconds' "
        "WHERE provider = 'sendgrid'",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console/limits")
    breakers = re.findall(r'<tr data-breaker="([^"]+)">', page.text)
    # Those not closed first.
    assert breakers[:2] == ["sendgrid", "stripe"]
    assert sorted(breakers) == sorted(
        name for (name,) in sql(db_dsn, "SELECT provider FROM queue.circuit_breakers")
    )
    stripe = row(page.text, "breaker", "stripe")
    assert 'class="badge open"' in stripe
    assert field(stripe, "failures") == "5 / 5"
    assert field(stripe, "opened") == "5 min ago"
    assert field(stripe, "until") == "in 20 min"
    assert field(stripe, "last-error") == "HTTP 503 from api.stripe.com"
    sendgrid = row(page.text, "breaker", "sendgrid")
    assert 'class="badge half-open">half-open<' in sendgrid
    closed = row(page.text, "breaker", "twilio")
    assert 'class="badge closed"' in closed
    assert (field(closed, "opened"), field(closed, "until")) == ("never", "now")
    # The bucket's row shows its provider's breaker.
    assert field(row(page.text, "bucket", "stripe"), "breaker") == "open"


async def test_admin_stops_and_resumes_a_bucket_audited_as_the_api_does(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        before = await client.get("/console/limits")
        stopped = await post_form(
            client, "/console/limits/stripe/stop", csrf, reason="card testing attack"
        )
        page = await client.get(stopped.headers["location"])
        after_stop = paused(db_dsn, "stripe")
        resumed = await post_form(client, "/console/limits/stripe/resume", csrf)
        again = await client.get(resumed.headers["location"])
    assert "Stop stripe" in before.text and "Resume stripe" not in before.text
    assert (stopped.status_code, stopped.headers["location"]) == (
        303,
        "/console/limits?notice=stopped",
    )
    assert after_stop is True
    assert "Emergency stop: no call to this provider is made" in page.text
    assert field(row(page.text, "bucket", "stripe"), "state") == "stopped"
    assert "Resume stripe" in page.text
    assert resumed.headers["location"] == "/console/limits?notice=provider-resumed"
    assert "Provider resumed." in again.text
    assert paused(db_dsn, "stripe") is False
    assert paused(db_dsn, "sendgrid") is False  # only the one named
    assert audit(db_dsn) == [
        (
            "ops@example.com",
            "admin",
            "rate_limit.emergency_stop",
            "rate_limit:stripe",
            {"reason": "card testing attack"},
        ),
        (
            "ops@example.com",
            "admin",
            "rate_limit.resume",
            "rate_limit:stripe",
            {"reason": None},
        ),
    ]


async def test_admin_stops_and_resumes_every_provider_at_once(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        stopped = await post_form(client, "/console/limits/stop-all", csrf, reason="")
        all_stopped = sql(db_dsn, "SELECT bool_and(paused) FROM queue.rate_limits")
        resumed = await post_form(client, "/console/limits/resume-all", csrf)
    assert stopped.headers["location"] == "/console/limits?notice=stopped-all"
    assert all_stopped == [(True,)]
    assert resumed.headers["location"] == "/console/limits?notice=resumed-all"
    assert sql(db_dsn, "SELECT bool_or(paused) FROM queue.rate_limits") == [(False,)]
    assert [(action, target) for _, _, action, target, _ in audit(db_dsn)] == [
        ("rate_limit.emergency_stop", "rate_limit:*"),
        ("rate_limit.resume", "rate_limit:*"),
    ]


async def test_admin_resets_a_bucket_refilled_and_unheld(db_dsn):
    sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 0, hold_until = now() + interval '1 hour', "
        "refilled_at = now() + interval '1 hour' WHERE name = 'twilio'",
    )
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        answer = await post_form(client, "/console/limits/twilio/reset", csrf)
        page = await client.get(answer.headers["location"])
    assert answer.headers["location"] == "/console/limits?notice=reset"
    assert "Bucket refilled and its Retry-After hold lifted." in page.text
    assert sql(
        db_dsn, "SELECT tokens, hold_until FROM queue.rate_limits WHERE name = 'twilio'"
    ) == [(10.0, None)]
    assert field(row(page.text, "bucket", "twilio"), "hold").startswith("none")
    assert [(action, target) for _, _, action, target, _ in audit(db_dsn)] == [
        ("rate_limit.reset", "rate_limit:twilio")
    ]


async def test_an_unknown_bucket_is_a_page_that_says_so(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(client, "/console/limits/nope/stop", csrf)
    assert answer.status_code == 404
    assert "nope" in answer.text and "<html" in answer.text
    assert audit(db_dsn) == []


async def test_monitoring_sees_no_limit_actions_and_is_refused_them(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        page = await client.get("/console/limits")
        refused = [
            await post_form(client, path, csrf)
            for path in (
                "/console/limits/stripe/stop",
                "/console/limits/stripe/resume",
                "/console/limits/stripe/reset",
                "/console/limits/stop-all",
                "/console/limits/resume-all",
            )
        ]
    assert page.status_code == 200
    assert '<tr data-bucket="stripe">' in page.text
    assert 'action="/console/limits/' not in page.text
    assert "Stop stripe" not in page.text and "Stop every provider" not in page.text
    assert [answer.status_code for answer in refused] == [403] * 5
    assert "the monitoring role may not do this here" in refused[0].text
    assert sql(db_dsn, "SELECT bool_or(paused) FROM queue.rate_limits") == [(False,)]
    assert audit(db_dsn) == []


async def test_a_limit_action_without_its_csrf_token_changes_nothing(db_dsn):
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        missing = await client.post(
            "/console/limits/stripe/stop", follow_redirects=False
        )
        forged = await post_form(client, "/console/limits/stop-all", "0" * 64)
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert sql(db_dsn, "SELECT bool_or(paused) FROM queue.rate_limits") == [(False,)]
    assert audit(db_dsn) == []


async def test_a_hostile_breaker_error_comes_out_escaped(db_dsn):
    script = '<script>alert("breaker")</script>'
    sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5, opened_at = now(), "
        "retry_at = now() + interval '30 seconds', last_error = %s WHERE provider = 'twilio'",
        (script,),
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get("/console/limits")
    assert script not in page.text
    assert "&lt;script&gt;alert(&#34;breaker&#34;)&lt;/script&gt;" in page.text
    assert field(row(page.text, "breaker", "twilio"), "last-error") == script
