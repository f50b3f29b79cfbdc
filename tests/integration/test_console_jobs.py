"""The console's job browser and job page: filters, searches, keyset pages over
bounded windows, the payload as each role may see it, and an admin's retry,
cancel and abort."""

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from psycopg.types.json import Jsonb

from app.domain.access import Principal, Role, redact_payload
from app.domain.errors import Forbidden
from app.services.console_jobs import (
    PAGE_SIZE,
    WINDOW_IDS,
    JobFilters,
    browse_jobs,
    job_detail,
)
from tests.helpers.api import api_client
from tests.helpers.console import post_form, sign_in

_ROW = re.compile(r'<tr data-job-id="(\d+)">(.*?)</tr>', re.DOTALL)
_FIELD = re.compile(r'data-field="([a-z-]+)">(.*?)</t[dh]>', re.DOTALL)
_TAG = re.compile(r"<[^>]+>")
_LINK = re.compile(r'<a href="([^"]+)" rel="next" data-field="(older|search-older)"')
_PAYLOAD = re.compile(r'<pre data-field="payload">(.*?)</pre>', re.DOTALL)

HOSTILE = "<script>alert('x')</script>"


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def enqueue(dsn, event="e", *, venue=None, key=None, scope=None, ordering_key=None):
    """Enqueue an analytics-track job (queue background) through queue.enqueue."""
    meta = {"venue_id": venue} if venue else {}
    [(job_id, _)] = sql(
        dsn,
        "SELECT * FROM queue.enqueue('background', 'analytics-track', %s, "
        "idempotency_key => %s, meta => %s, key_scope => %s, ordering_key => %s)",
        (Jsonb({"eventType": event}), key, Jsonb(meta), scope, ordering_key),
    )
    return job_id


def refund(dsn, transaction="tx-1"):
    [(job_id, _)] = sql(
        dsn,
        "SELECT * FROM queue.enqueue('money', 'refund-process', %s)",
        (Jsonb({"transactionId": transaction}),),
    )
    return job_id


def fail(dsn, job_id, *, error_type="ProviderError", message="the provider said no"):
    """Fail a job for good as a worker would: two attempts, each with its outcome."""
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = 'doing', attempts = 2 WHERE id = %s",
        (job_id,),
    )
    sql(dsn, "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", (job_id,))
    for attempt, status, kind, text in (
        (1, "retried", "Timeout", "the first attempt timed out"),
        (2, "failed", error_type, message),
    ):
        sql(
            dsn,
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, "
            "status, error_type, error_message, started_at) "
            "SELECT id, queue_name, task_name, %s, %s, %s, %s, now() - interval '1 second' "
            "FROM procrastinate_jobs WHERE id = %s",
            (attempt, status, kind, text, job_id),
        )


def set_state(dsn, job_id, state):
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = %s WHERE id = %s",
        (state, job_id),
    )


def enqueued_at(dsn, job_id, at):
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{meta,enqueued_at}', "
        "to_jsonb(%s::timestamptz)) WHERE id = %s",
        (at, job_id),
    )


def skip_ids(dsn, count):
    """Leave a gap of `count` ids, as a long history (or retention) does."""
    sql(
        dsn,
        "SELECT setval('procrastinate_jobs_id_seq', "
        "(SELECT last_value FROM procrastinate_jobs_id_seq) + %s)",
        (count,),
    )


def rows(page):
    """The browser's rows, in order: id and each data-field's text."""
    found = []
    for job_id, row in _ROW.findall(page):
        fields = {
            name: html.unescape(_TAG.sub("", value)).strip()
            for name, value in _FIELD.findall(row)
        }
        found.append({**fields, "id": int(job_id), "row": row})
    return found


def ids(page):
    return [row["id"] for row in rows(page)]


def next_link(page):
    """The Older or Search older link's kind and URL, or None."""
    found = _LINK.search(page)
    return (found.group(2), html.unescape(found.group(1))) if found else None


def audit(dsn):
    return sql(
        dsn,
        "SELECT actor, role, action, target, details FROM queue.audit_log ORDER BY id",
    )


# The browser.


async def test_the_browser_lists_jobs_newest_first_with_their_fields(db_dsn):
    waiting = enqueue(db_dsn, "a")
    failed = refund(db_dsn, "tx-9")
    fail(db_dsn, failed, error_type="CardDeclined")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get("/console/jobs")
    assert page.status_code == 200
    shown = rows(page.text)
    assert [row["id"] for row in shown] == [failed, waiting]
    newest = shown[0]
    assert {k: newest[k] for k in ("queue", "type", "state", "attempts")} == {
        "queue": "money",
        "type": "refund-process",
        "state": "failed",
        "attempts": "2/10",
    }
    assert newest["last-error-type"] == "CardDeclined"
    assert newest["enqueued-at"].endswith(" UTC")
    assert f'<a href="/console/jobs/{failed}">{failed}</a>' in newest["row"]
    assert '<span class="badge failed">failed</span>' in newest["row"]
    assert shown[1]["state"] == "todo"
    assert shown[1]["attempts"] == "0/2"
    assert shown[1]["last-error-type"] == ""
    # Every field of the form has its label.
    for field in ("queue", "type", "state", "venue", "since", "until", "id", "key"):
        assert f'<label for="f-{field}">' in page.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("queue=money", ["refund"]),
        ("queue=money-queue", ["refund"]),  # the old name of the queue
        ("type=analytics-track", ["venue-7", "plain"]),
        ("state=failed", ["refund"]),
        ("state=todo", ["venue-7", "plain"]),
        ("venue=v-7", ["venue-7"]),
        ("queue=background&state=failed", []),
    ],
)
async def test_each_filter_narrows_the_jobs(db_dsn, query, expected):
    jobs = {
        "plain": enqueue(db_dsn, "plain"),
        "venue-7": enqueue(db_dsn, "v", venue="v-7"),
        "refund": refund(db_dsn),
    }
    fail(db_dsn, jobs["refund"])
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get(f"/console/jobs?{query}")
    assert page.status_code == 200
    assert ids(page.text) == [jobs[name] for name in expected]
    if not expected:
        assert 'data-field="empty"' in page.text


async def test_a_time_range_finds_jobs_deep_in_the_history_on_its_first_page(db_dsn):
    old = enqueue(db_dsn, "old")
    enqueued_at(db_dsn, old, datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    skip_ids(db_dsn, 3 * WINDOW_IDS)
    new = enqueue(db_dsn, "new")
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        within = await client.get(
            "/console/jobs?since=2025-03-01T11:00&until=2025-03-01T13:00"
        )
        after = await client.get("/console/jobs?since=2025-03-01T12:00:01")
        before = await client.get("/console/jobs?until=2025-03-01T12:00")
        recent = await client.get(f"/console/jobs?since={an_hour_ago}")
    # Bisected to the ids of the range: the old job is on page 1, not 3 windows down.
    assert ids(within.text) == [old]
    assert next_link(within.text) is None
    assert ids(after.text) == [new]
    assert ids(before.text) == []  # until is exclusive
    # Nothing below the range's first id can match: no window is offered there.
    assert ids(recent.text) == [new]
    assert next_link(recent.text) is None


async def test_a_time_range_finds_a_job_whose_transaction_began_earlier(db_dsn):
    # enqueued_at is the enqueue transaction's start: a job inserted after
    # another may carry an earlier time. Within the slack, the range finds it.
    first = enqueue(db_dsn, "first")
    enqueued_at(db_dsn, first, datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    late = enqueue(db_dsn, "late")
    enqueued_at(db_dsn, late, datetime(2025, 3, 1, 11, 58, tzinfo=UTC))
    last = enqueue(db_dsn, "last")
    enqueued_at(db_dsn, last, datetime(2025, 3, 1, 12, 10, tzinfo=UTC))
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        before = await client.get("/console/jobs?until=2025-03-01T11:59")
        after = await client.get("/console/jobs?since=2025-03-01T11:59")
    assert ids(before.text) == [late]
    assert ids(after.text) == [last, first]


async def test_a_job_id_is_found_by_its_id(db_dsn):
    wanted = enqueue(db_dsn, "wanted")
    enqueue(db_dsn, "other")
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get(f"/console/jobs?id={wanted}")
        missing = await client.get("/console/jobs?id=987654321")
        filtered = await client.get(f"/console/jobs?id={wanted}&state=failed")
    assert ids(page.text) == [wanted]
    assert 'data-field="found-by"' in page.text
    assert ids(missing.text) == []
    assert ids(filtered.text) == []  # every field given applies


async def test_a_key_is_found_as_stored_or_as_its_caller_sent_it(db_dsn):
    scoped = enqueue(db_dsn, "s", key="order-42", scope="shop")
    plain = enqueue(db_dsn, "p", key="order-43")
    enqueue(db_dsn, "x", key="order-420")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        stored = await client.get("/console/jobs?key=%40shop%3Aorder-42")
        unscoped = await client.get("/console/jobs?key=order-42")
        unscoped_plain = await client.get("/console/jobs?key=order-43")
    assert ids(stored.text) == [scoped]
    assert 'data-field="found-by"' in stored.text  # one probe of the key's primary key
    assert ids(unscoped.text) == [scoped]  # searched in the window, without its scope
    assert ids(unscoped_plain.text) == [plain]


async def test_monitoring_may_not_search_by_key(db_dsn):
    enqueue(db_dsn, "s", key="person@example.com")
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console/jobs")
        refused = await client.get("/console/jobs?key=person%40example.com")
    assert 'name="key"' not in page.text
    assert refused.status_code == 403
    assert "person@example.com" not in refused.text


async def test_pages_follow_by_keyset_and_keep_the_filters(db_dsn):
    made = [enqueue(db_dsn, str(n), venue="v-1") for n in range(PAGE_SIZE + 5)]
    enqueue(db_dsn, "elsewhere", venue="v-2")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        first = await client.get("/console/jobs?venue=v-1&state=todo")
        kind, url = next_link(first.text)
        second = await client.get(url)
    assert ids(first.text) == made[::-1][:PAGE_SIZE]
    assert kind == "older"
    query = parse_qs(urlsplit(url).query)
    assert query == {
        "venue": ["v-1"],
        "state": ["todo"],
        "before": [str(made[::-1][PAGE_SIZE - 1])],
    }
    assert ids(second.text) == made[::-1][PAGE_SIZE:]
    assert next_link(second.text) is None  # nothing older at all
    assert 'data-field="newest"' in second.text


async def test_a_spent_window_offers_to_search_older_until_the_match(db_dsn):
    rare = enqueue(db_dsn, "rare", venue="rare-venue")
    skip_ids(db_dsn, 2 * WINDOW_IDS + 10)
    newer = enqueue(db_dsn, "newer", venue="common")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        url = "/console/jobs?venue=rare-venue"
        pages = []
        while url and len(pages) < 5:
            page = await client.get(url)
            pages.append(page.text)
            found = next_link(page.text)
            url = found[1] if found else None
    # Each page read at most a window of ids, then offered the next one.
    assert [ids(p) for p in pages] == [[], [], [rare]]
    assert all(next_link(p)[0] == "search-older" for p in pages[:2])
    assert "Search older (ids below" in pages[0]
    assert 'data-field="searched"' in pages[0]
    assert newer not in ids(pages[-1])


async def test_a_field_that_does_not_parse_is_said_and_nothing_is_read(db_dsn):
    enqueue(db_dsn)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get("/console/jobs?id=abc&since=yesterday&state=lost")
        huge = await client.get(f"/console/jobs?before={'9' * 5000}")
    assert huge.status_code == 400
    assert "Page: a job id is a positive whole number." in huge.text
    assert page.status_code == 400
    assert 'data-field="errors"' in page.text
    assert "Job id: a job id is a positive whole number." in page.text
    assert "Enqueued since: a date and time" in page.text
    assert "State: one of todo, doing" in page.text
    assert ids(page.text) == []


async def test_hostile_values_come_out_escaped_in_the_browser(db_dsn):
    job = refund(db_dsn, HOSTILE)
    fail(db_dsn, job, error_type=HOSTILE)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get(
            "/console/jobs", params={"venue": HOSTILE, "type": HOSTILE}
        )
        listed = await client.get("/console/jobs")
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text  # the typed values, refilled escaped
    assert "<script>" not in listed.text
    assert rows(listed.text)[0]["last-error-type"] == HOSTILE


async def test_the_service_lets_operators_browse_and_no_one_else(conn):
    for role in (Role.VENUE_ADMIN, Role.USER):
        with pytest.raises(Forbidden):
            await browse_jobs(conn, Principal(sub="x", role=role), JobFilters())
    page = await browse_jobs(
        conn, Principal(sub="m", role=Role.MONITORING), JobFilters()
    )
    assert page.jobs == []
    assert page.older is None
    assert page.search_older is None


# A job's page.


async def test_a_job_page_shows_state_attempts_errors_and_why(db_dsn):
    job = refund(db_dsn, "tx-77")
    fail(db_dsn, job, error_type="CardDeclined", message="your card was declined")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get(f"/console/jobs/{job}")
    assert page.status_code == 200
    text = page.text
    assert '<span class="badge failed" data-field="state">failed</span>' in text
    assert 'data-field="attempts">2 of 10</td>' in text
    attempts = re.findall(r'<tr data-attempt="(\d+)">(.*?)</tr>', text, re.DOTALL)
    assert [a for a, _ in attempts] == ["1", "2"]
    assert "Timeout" in attempts[0][1]
    assert "the first attempt timed out" in attempts[0][1]
    assert "CardDeclined" in attempts[1][1]
    assert "your card was declined" in attempts[1][1]
    assert '<li data-reason="failed">' in text
    assert "failed with CardDeclined: your card was declined after 2 attempts" in text
    payload = html.unescape(_PAYLOAD.search(text).group(1))
    assert payload == '{\n  "transactionId": "tx-77"\n}'
    assert "<code>" in text  # the idempotency key, shown to admin
    assert "refund-tx-77" in text


async def test_monitoring_sees_a_job_with_its_payload_redacted(db_dsn):
    job = enqueue(db_dsn, "person@example.com", key="secret-key")
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get(f"/console/jobs/{job}")
    assert page.status_code == 200
    payload = html.unescape(_PAYLOAD.search(page.text).group(1))
    assert payload == '{\n  "eventType": "<string>"\n}'
    assert "person@example.com" not in page.text
    assert "secret-key" not in page.text
    assert 'data-field="redacted"' in page.text
    # No action for this role.
    assert "/retry" not in page.text
    assert "/cancel" not in page.text
    assert "<button" not in page.text.split("</header>", 1)[1]


async def test_a_held_lock_is_named_to_admin_and_hidden_from_monitoring(db_dsn):
    first = enqueue(db_dsn, "1", ordering_key="https://hooks.example/T0/secret")
    second = enqueue(db_dsn, "2", ordering_key="https://hooks.example/T0/secret")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        admin = await client.get(f"/console/jobs/{second}")
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        watcher = await client.get(f"/console/jobs/{second}")
    assert '<li data-reason="lock_held">' in admin.text
    assert "hooks.example/T0/secret" in admin.text
    assert '<li data-reason="lock_held">' in watcher.text
    assert "secret" not in watcher.text
    assert "its serial lock is held by job" in watcher.text
    assert f'<a href="/console/jobs/{first}" data-field="blocking-job">' in watcher.text


async def test_hostile_values_come_out_escaped_on_the_job_page(db_dsn):
    job = refund(db_dsn, HOSTILE)
    fail(db_dsn, job, error_type=HOSTILE, message=HOSTILE)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get(f"/console/jobs/{job}")
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text
    assert HOSTILE in html.unescape(_PAYLOAD.search(page.text).group(1))


async def test_an_unknown_job_is_a_page_that_says_so(db_dsn):
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get("/console/jobs/987654321")
    assert page.status_code == 404
    assert "job 987654321 does not exist" in page.text


@pytest.mark.parametrize(
    ("state", "buttons"),
    [
        ("failed", ["Retry"]),
        ("todo", ["Cancel"]),
        ("doing", ["Abort"]),
        ("succeeded", []),
        ("cancelled", []),
    ],
)
async def test_only_the_actions_of_the_jobs_state_are_offered(db_dsn, state, buttons):
    job = enqueue(db_dsn)
    if state == "failed":
        fail(db_dsn, job)
    elif state != "todo":
        set_state(db_dsn, job, state)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get(f"/console/jobs/{job}")
    main = page.text.split("</header>", 1)[1]
    assert re.findall(r'<button type="submit"[^>]*>(\w+)</button>', main) == buttons


# Actions.


async def test_retrying_a_failed_job_requeues_it_and_audits(db_dsn):
    job = refund(db_dsn)
    fail(db_dsn, job)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", sub="ops@example.com")
        answer = await post_form(client, f"/console/jobs/{job}/retry", csrf)
        shown = await client.get(answer.headers["location"])
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/jobs/{job}?notice=retried"
    assert sql(
        db_dsn,
        "SELECT status::text, attempts FROM procrastinate_jobs WHERE id = %s",
        (job,),
    ) == [("todo", 0)]
    assert audit(db_dsn) == [
        ("ops@example.com", "admin", "job.retry", f"job:{job}", {})
    ]
    assert "Job requeued with a fresh set of attempts." in shown.text


async def test_cancelling_a_waiting_job_cancels_it_and_audits(db_dsn):
    job = enqueue(db_dsn)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", sub="ops@example.com")
        answer = await post_form(client, f"/console/jobs/{job}/cancel", csrf)
    assert answer.headers["location"] == f"/console/jobs/{job}?notice=cancelled"
    assert sql(
        db_dsn, "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job,)
    ) == [("cancelled",)]
    assert audit(db_dsn) == [
        (
            "ops@example.com",
            "admin",
            "job.cancel",
            f"job:{job}",
            {"state": "cancelled"},
        )
    ]


async def test_aborting_a_running_job_asks_its_worker_and_audits(db_dsn):
    job = enqueue(db_dsn)
    set_state(db_dsn, job, "doing")
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", sub="ops@example.com")
        answer = await post_form(client, f"/console/jobs/{job}/abort", csrf)
        shown = await client.get(answer.headers["location"])
    assert answer.headers["location"] == f"/console/jobs/{job}?notice=aborting"
    assert sql(
        db_dsn,
        "SELECT status::text, abort_requested FROM procrastinate_jobs WHERE id = %s",
        (job,),
    ) == [("doing", True)]
    assert audit(db_dsn)[0][2:] == ("job.cancel", f"job:{job}", {"state": "aborting"})
    assert "Abort requested" in shown.text


async def test_an_action_the_state_does_not_allow_is_refused_with_its_reason(db_dsn):
    job = enqueue(db_dsn)
    set_state(db_dsn, job, "succeeded")
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(client, f"/console/jobs/{job}/retry", csrf)
    assert answer.status_code == 409
    assert "only failed jobs can be retried" in answer.text
    assert audit(db_dsn) == []


async def test_monitoring_may_not_act_on_a_job(db_dsn):
    job = refund(db_dsn)
    fail(db_dsn, job)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        answers = [
            await post_form(client, f"/console/jobs/{job}/{action}", csrf)
            for action in ("retry", "cancel", "abort")
        ]
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert "the monitoring role may not do this here" in answers[0].text
    assert sql(
        db_dsn, "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job,)
    ) == [("failed",)]
    assert audit(db_dsn) == []


async def test_an_action_without_the_csrf_token_changes_nothing(db_dsn):
    job = refund(db_dsn)
    fail(db_dsn, job)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        missing = await client.post(f"/console/jobs/{job}/retry", data={})
        forged = await client.post(
            f"/console/jobs/{job}/retry", data={"_csrf_token": "forged"}
        )
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert sql(
        db_dsn, "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job,)
    ) == [("failed",)]
    assert audit(db_dsn) == []


# Redaction.


def test_redaction_keeps_the_shape_and_replaces_every_value():
    data = {
        "to": "person@example.com",
        "amount": 1500,
        "ratio": 0.5,
        "urgent": True,
        "note": None,
        "items": [{"sku": "A-1", "qty": 2}, "gift"],
        "nested": {"deeper": {"phone": "+14155550100"}},
    }
    assert redact_payload(data) == {
        "to": "<string>",
        "amount": "<number>",
        "ratio": "<number>",
        "urgent": "<boolean>",
        "note": "<null>",
        "items": [{"sku": "<string>", "qty": "<number>"}, "<string>"],
        "nested": {"deeper": {"phone": "<string>"}},
    }
    assert redact_payload("just a string") == "<string>"
    assert redact_payload([]) == []


async def test_the_service_hides_a_key_and_results_from_monitoring(conn):
    [(job, _)] = await (
        await conn.execute(
            "SELECT * FROM queue.enqueue('background', 'analytics-track', %s, "
            "idempotency_key => 'k-1')",
            (Jsonb({"eventType": "e"}),),
        )
    ).fetchall()
    await conn.execute(
        "UPDATE procrastinate_jobs SET status = 'succeeded', attempts = 1 WHERE id = %s",
        (job,),
    )
    await conn.execute(
        "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, "
        "result, started_at) VALUES (%s, 'background', 'analytics-track', 1, "
        "'succeeded', %s, now())",
        (job, Jsonb({"receipt": "r-123"})),
    )
    watcher = await job_detail(
        conn, Principal(sub="m", role=Role.MONITORING), job, stalled_after_s=30
    )
    admin = await job_detail(
        conn, Principal(sub="a", role=Role.ADMIN), job, stalled_after_s=30
    )
    assert watcher.redacted and not admin.redacted
    assert watcher.job.idempotency_key is None
    assert admin.job.idempotency_key == "k-1"
    assert [o.result for o in watcher.outcomes] == [{"receipt": "<string>"}]
    assert [o.result for o in admin.outcomes] == [{"receipt": "r-123"}]
    assert watcher.job.data == {"eventType": "<string>"}


async def test_the_window_is_bounded_even_when_nothing_matches(db_dsn):
    # The bound the page's speed rests on: a search reads one window of ids.
    enqueue(db_dsn, "old", venue="far")
    skip_ids(db_dsn, WINDOW_IDS * 4)
    enqueue(db_dsn, "new")
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as conn:
        page = await browse_jobs(
            conn, Principal(sub="a", role=Role.ADMIN), JobFilters(venue="far")
        )
    assert page.jobs == []
    low, high = page.searched
    assert high - low == WINDOW_IDS
    assert page.search_older == low
