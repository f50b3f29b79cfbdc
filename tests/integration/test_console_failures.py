"""The console's failures page: dead letters grouped by queue, job type and
error type, and an admin's retry or discard of a whole group."""

import html
import re

import psycopg
from psycopg.types.json import Jsonb

from tests.helpers.api import api_client
from tests.helpers.console import post_form, sign_in

_ROW = re.compile(r"<tr data-group (.*?)</tr>", re.DOTALL)
_ATTR = re.compile(r'data-(queue|job-type|error-type)="([^"]*)"')
_FIELD = re.compile(r'data-field="(count|sample)">(.*?)</td>', re.DOTALL)
_UPTO = re.compile(r'name="upto" value="(\d+)"')


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def failed_job(dsn, queue, job_type, data, *, error_type, message, attempts=2):
    """Enqueue a job and fail it for good as a worker would: an outcome per attempt.

    The earlier attempts failed otherwise, so the group is the last error's.
    `error_type=None` leaves the last attempt without an error (with one
    attempt, the job recorded none: queue.last_error reads the newest error).
    """
    with psycopg.connect(dsn, autocommit=True) as conn:
        job_id, _ = conn.execute(
            "SELECT * FROM queue.enqueue(%s, %s, %s)", (queue, job_type, Jsonb(data))
        ).fetchone()
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', attempts = %s WHERE id = %s",
            (attempts, job_id),
        )
        conn.execute(
            "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", (job_id,)
        )
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            conn.execute(
                "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, "
                "status, error_type, error_message, started_at) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, now())",
                (
                    job_id,
                    queue,
                    job_type,
                    attempt,
                    "failed" if last else "retried",
                    error_type if last else "EarlierError",
                    message if last else "an earlier attempt's error",
                ),
            )
    return job_id


def track(dsn, n, *, error_type="ProviderUnavailable", message=None):
    return failed_job(
        dsn,
        "background",
        "analytics-track",
        {"eventType": f"event-{n}"},
        error_type=error_type,
        message=message or f"analytics said no to {n}",
    )


def refund(dsn, n, *, error_type="ProviderUnavailable", message=None):
    return failed_job(
        dsn,
        "money",
        "refund-process",
        {"transactionId": f"tx-{n}"},
        error_type=error_type,
        message=message or f"stripe said no to {n}",
    )


def groups(page: str) -> dict[tuple[str, str, str], dict[str, str]]:
    """The page's groups by (queue, job type, error type): count, sample, upto."""
    found = {}
    for row in _ROW.findall(page):
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(row)}
        fields = {k: html.unescape(v).strip() for k, v in _FIELD.findall(row)}
        upto = _UPTO.search(row)
        found[(attrs["queue"], attrs["job-type"], attrs["error-type"])] = {
            **fields,
            "upto": upto.group(1) if upto else "",
            "row": row,
        }
    return found


def states(dsn, ids):
    rows = sql(
        dsn,
        "SELECT id, status::text, attempts FROM procrastinate_jobs WHERE id = ANY(%s)",
        (list(ids),),
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def audit(dsn):
    return sql(
        dsn,
        "SELECT actor, role, action, target, details FROM queue.audit_log ORDER BY id",
    )


async def test_failures_are_grouped_by_queue_type_and_last_error(db_dsn):
    track(db_dsn, 1)
    track(db_dsn, 2)
    track(db_dsn, 3, message="analytics is down for maintenance")
    track(db_dsn, 4, error_type="PermanentTaskError", message="bad event")
    refund(db_dsn, 1)
    failed_job(
        db_dsn,
        "background",
        "analytics-track",
        {"eventType": "silent"},
        error_type=None,
        message=None,
        attempts=1,
    )
    # Neither a waiting job nor a succeeded one is a failure.
    sql(
        db_dsn,
        "SELECT queue.enqueue('background', 'analytics-track', '{\"eventType\": \"w\"}')",
    )
    done, _ = sql(
        db_dsn,
        "SELECT * FROM queue.enqueue('background', 'analytics-track', '{\"eventType\": \"s\"}')",
    )[0]
    sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s",
        (done,),
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console/failures")
    assert page.status_code == 200
    shown = groups(page.text)
    assert {key: value["count"] for key, value in shown.items()} == {
        ("background", "analytics-track", "ProviderUnavailable"): "3",
        ("background", "analytics-track", "PermanentTaskError"): "1",
        ("background", "analytics-track", ""): "1",
        ("money", "refund-process", "ProviderUnavailable"): "1",
    }
    largest = shown[("background", "analytics-track", "ProviderUnavailable")]
    assert largest["sample"] == "analytics is down for maintenance"  # the newest's
    assert next(iter(shown)) == ("background", "analytics-track", "ProviderUnavailable")
    assert "no error recorded" in shown[("background", "analytics-track", "")]["row"]
    assert 'data-field="newest"><time datetime=' in largest["row"]
    assert (
        'href="/console/jobs?queue=background&amp;type=analytics-track&amp;state=failed"'
        in largest["row"]
    )
    assert 'data-field="window-full"' not in page.text


async def test_an_empty_dead_letter_queue_says_so(db_dsn):
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console/failures")
    assert 'data-field="empty"' in page.text
    assert "<tr data-group" not in page.text


async def test_only_the_newest_failed_jobs_are_read_and_the_page_says_so(db_dsn):
    # 2,001 dead letters straight into the table, the newest with its outcome.
    sql(
        db_dsn,
        """
        WITH jobs AS (
            INSERT INTO procrastinate_jobs (queue_name, task_name, status, attempts, args)
            SELECT 'background', 'analytics-track', 'failed', 1, '{"data": {}}'
            FROM generate_series(1, 2001)
            RETURNING id
        )
        INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status,
                                        error_type, error_message, started_at)
        SELECT id, 'background', 'analytics-track', 1, 'failed', 'Boom', 'boom', now()
        FROM jobs
        """,
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = await client.get("/console/failures")
    assert 'data-field="window-full"' in page.text
    assert "Only the newest 2,000" in page.text
    assert (
        groups(page.text)[("background", "analytics-track", "Boom")]["count"] == "2000"
    )


async def test_admin_retries_a_group_up_to_the_newest_job_shown_audited_once(db_dsn):
    group = [track(db_dsn, n) for n in range(3)]
    other_error = track(db_dsn, 9, error_type="PermanentTaskError")
    other_queue = refund(db_dsn, 1)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        page = await client.get("/console/failures")
        shown = groups(page.text)[
            ("background", "analytics-track", "ProviderUnavailable")
        ]
        # Failed after the page was read: the operator has not seen it.
        later = track(db_dsn, 4)
        answer = await post_form(
            client,
            "/console/failures/retry",
            csrf,
            queue="background",
            job_type="analytics-track",
            error_type="ProviderUnavailable",
            upto=shown["upto"],
        )
        after = await client.get(answer.headers["location"])
    assert 'data-field="count">3<' in shown["row"]
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/console/failures?notice=bulk-retried",
    )
    assert "The selected failed jobs were requeued." in after.text
    jobs = states(db_dsn, [*group, other_error, other_queue, later])
    assert [jobs[job] for job in group] == [("todo", 0)] * 3
    assert jobs[other_error] == ("failed", 2)
    assert jobs[other_queue] == ("failed", 2)
    assert jobs[later] == ("failed", 2)
    assert audit(db_dsn) == [
        (
            "ops@example.com",
            "admin",
            "failures.retry",
            "queue:background",
            {
                "job_type": "analytics-track",
                "error_type": "ProviderUnavailable",
                "upto": int(shown["upto"]),
                "count": 3,
                "held": 0,
            },
        )
    ]


async def test_a_retry_leaves_failed_a_job_whose_queueing_lock_a_waiting_job_holds(
    db_dsn,
):
    held = track(db_dsn, 1)
    free = track(db_dsn, 2)
    twins = [track(db_dsn, 3), track(db_dsn, 4)]
    waiting, _ = sql(
        db_dsn,
        "SELECT * FROM queue.enqueue('background', 'analytics-track', '{\"eventType\": \"w\"}')",
    )[0]
    sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET queueing_lock = 'lock-a' WHERE id IN (%s, %s)",
        (held, waiting),
    )
    # Two failed jobs of one lock: only one may wait.
    sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET queueing_lock = 'lock-b' WHERE id = ANY(%s)",
        (twins,),
    )
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(
            client,
            "/console/failures/retry",
            csrf,
            queue="background",
            job_type="analytics-track",
            error_type="ProviderUnavailable",
            upto=str(max(twins)),
        )
        after = await client.get(answer.headers["location"])
    assert answer.headers["location"] == "/console/failures?notice=bulk-retried-partly"
    assert "they stay failed" in after.text
    jobs = states(db_dsn, [held, free, *twins])
    assert jobs[held] == ("failed", 2)
    assert jobs[free] == ("todo", 0)
    assert sorted(jobs[job][0] for job in twins) == ["failed", "todo"]
    assert jobs[max(twins)] == ("todo", 0)  # the newest of the lock
    (row,) = audit(db_dsn)
    assert (row[2], row[4]["count"], row[4]["held"]) == ("failures.retry", 2, 2)


async def test_admin_discards_the_group_of_jobs_without_an_error_and_no_other(db_dsn):
    silent = [
        failed_job(
            db_dsn,
            "background",
            "analytics-track",
            {"eventType": f"silent-{n}"},
            error_type=None,
            message=None,
            attempts=1,
        )
        for n in range(2)
    ]
    kept = track(db_dsn, 1)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        page = await client.get("/console/failures")
        shown = groups(page.text)[("background", "analytics-track", "")]
        # The form of the group without an error type sends no error_type.
        assert 'name="error_type"' not in shown["row"]
        answer = await post_form(
            client,
            "/console/failures/discard",
            csrf,
            queue="background",
            job_type="analytics-track",
            upto=shown["upto"],
        )
        after = await client.get(answer.headers["location"])
    assert answer.headers["location"] == "/console/failures?notice=bulk-discarded"
    assert "The group's failed jobs were discarded." in html.unescape(after.text)
    assert states(db_dsn, [*silent, kept]) == {kept: ("failed", 2)}
    # The attempts stay on record for the charts until retention sweeps them.
    assert sql(
        db_dsn,
        "SELECT count(*) FROM queue.job_outcomes WHERE job_id = ANY(%s)",
        (silent,),
    ) == [(2,)]
    assert list(groups(after.text)) == [
        ("background", "analytics-track", "ProviderUnavailable")
    ]
    assert [
        (a, action, target, details) for a, _, action, target, details in audit(db_dsn)
    ] == [
        (
            "ops@example.com",
            "failures.discard",
            "queue:background",
            {
                "job_type": "analytics-track",
                "error_type": None,
                "upto": int(shown["upto"]),
                "count": 2,
            },
        )
    ]


async def test_an_action_on_a_group_already_gone_says_so_and_is_audited(db_dsn):
    job = track(db_dsn, 1)
    sql(db_dsn, "DELETE FROM procrastinate_jobs WHERE id = %s", (job,))
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(
            client,
            "/console/failures/retry",
            csrf,
            queue="background",
            job_type="analytics-track",
            error_type="ProviderUnavailable",
            upto=str(job),
        )
    assert answer.headers["location"] == "/console/failures?notice=bulk-nothing"
    assert [(row[2], row[4]["count"]) for row in audit(db_dsn)] == [
        ("failures.retry", 0)
    ]


async def test_monitoring_sees_no_group_actions_and_is_refused_them(db_dsn):
    job = track(db_dsn, 1)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        page = await client.get("/console/failures")
        refused = [
            await post_form(
                client,
                f"/console/failures/{action}",
                csrf,
                queue="background",
                job_type="analytics-track",
                error_type="ProviderUnavailable",
                upto=str(job),
            )
            for action in ("retry", "discard")
        ]
    assert page.status_code == 200
    assert ("background", "analytics-track", "ProviderUnavailable") in groups(page.text)
    assert "Retry group" not in page.text and "Discard group" not in page.text
    assert 'action="/console/failures/' not in page.text
    assert [answer.status_code for answer in refused] == [403, 403]
    assert "the monitoring role may not do this here" in refused[0].text
    assert states(db_dsn, [job]) == {job: ("failed", 2)}
    assert audit(db_dsn) == []


async def test_a_group_action_without_its_csrf_token_changes_nothing(db_dsn):
    job = track(db_dsn, 1)
    fields = {
        "queue": "background",
        "job_type": "analytics-track",
        "error_type": "ProviderUnavailable",
        "upto": str(job),
    }
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        missing = await client.post(
            "/console/failures/retry", data=fields, follow_redirects=False
        )
        forged = await post_form(
            client, "/console/failures/discard", "0" * 64, **fields
        )
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert states(db_dsn, [job]) == {job: ("failed", 2)}
    assert audit(db_dsn) == []


async def test_hostile_error_types_and_messages_come_out_escaped(db_dsn):
    script = '<script>alert("dead letter")</script>'
    track(db_dsn, 1, error_type='<img src=x onerror="alert(1)">', message=script)
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = await client.get("/console/failures")
    assert script not in page.text
    assert "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;dead letter&#34;)&lt;/script&gt;" in page.text
    assert (
        "background",
        "analytics-track",
        '<img src=x onerror="alert(1)">',
    ) in groups(page.text)


def retrying_job(dsn, n, *, error_type="CardDeclined"):
    """A refund that failed its first attempt and waits for its second."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        job_id, _ = conn.execute(
            "SELECT * FROM queue.enqueue('money', 'refund-process', %s)",
            (Jsonb({"transactionId": f"tx-r{n}"}),),
        ).fetchone()
        conn.execute(
            "UPDATE procrastinate_jobs SET attempts = 1 WHERE id = %s", (job_id,)
        )
        conn.execute(
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, "
            "status, error_type, error_message, started_at) VALUES "
            "(%s, 'money', 'refund-process', 1, 'retried', %s, '<script>x</script>', now())",
            (job_id, error_type),
        )
    return job_id


async def test_an_admin_cancels_a_group_of_jobs_waiting_to_be_retried(db_dsn):
    declined = [retrying_job(db_dsn, n) for n in range(3)]
    other = retrying_job(db_dsn, 9, error_type="ProviderUnavailable")
    fresh = sql(
        db_dsn,
        "SELECT job_id FROM queue.enqueue('money', 'refund-process', "
        """'{"transactionId": "tx-new"}')""",
    )[0][0]
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        page = await client.get("/console/failures")
        row = page.text.split('data-error-type="CardDeclined"')[1].split("</tr>")[0]
        answer = await post_form(
            client,
            "/console/failures/cancel",
            csrf,
            queue="money",
            job_type="refund-process",
            error_type="CardDeclined",
            upto=str(max(declined)),
        )
    assert 'data-field="count">3<' in row
    assert "&lt;script&gt;" in row and "<script>x" not in row
    assert answer.headers["location"] == "/console/failures?notice=bulk-cancelled"
    states = dict(
        sql(
            db_dsn,
            "SELECT id, status::text FROM procrastinate_jobs WHERE id = ANY(%s)",
            ([*declined, other, fresh],),
        )
    )
    assert [states[job] for job in declined] == ["cancelled"] * 3
    assert (states[other], states[fresh]) == ("todo", "todo")
    assert sql(
        db_dsn,
        "SELECT count(*) FROM queue.job_outcomes WHERE status = 'cancelled'",
    ) == [(3,)]
    assert sql(
        db_dsn,
        "SELECT action, details ->> 'count', details ->> 'error_type' FROM queue.audit_log",
    ) == [("failures.cancel", "3", "CardDeclined")]


async def test_monitoring_sees_retrying_groups_and_cannot_cancel_them(db_dsn):
    job = retrying_job(db_dsn, 1)
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        page = await client.get("/console/failures")
        refused = await post_form(
            client,
            "/console/failures/cancel",
            csrf,
            queue="money",
            job_type="refund-process",
            error_type="CardDeclined",
            upto=str(job),
        )
    assert "data-retrying" in page.text
    assert "Cancel group" not in page.text
    assert refused.status_code == 403
    assert sql(
        db_dsn, "SELECT status::text FROM procrastinate_jobs WHERE id = %s", (job,)
    ) == [("todo",)]
