"""The console's alerts page: open or all alerts, newest first and bounded, with
each channel's result; admin acknowledges (audited), monitoring only reads."""

import psycopg
from psycopg.types.json import Jsonb

from tests.helpers.api import api_client
from tests.helpers.console import post_form, sign_in


def sql(dsn, statement, params=None):
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def add_alert(dsn, message, *, severity="warning", queue="money", age_s=0, **fields):
    channels = fields.pop("channels", {"log": "sent"})
    (row,) = sql(
        dsn,
        """INSERT INTO queue.alert_history
               (severity, type, queue_name, value, threshold, message, channels,
                created_at, acknowledged_by, acknowledged_at)
           VALUES (%s, %s, %s, 120, 100, %s, %s, now() - make_interval(secs => %s),
                   %s, %s)
           RETURNING id""",
        (
            severity,
            fields.get("type", "queue_depth"),
            queue,
            message,
            Jsonb(channels),
            age_s,
            fields.get("acknowledged_by"),
            fields.get("acknowledged_at"),
        ),
    )
    return row[0]


def row_of(page: str, alert_id: int) -> str:
    return page.split(f'data-alert="{alert_id}"')[1].split("</tr>")[0]


async def test_the_page_shows_open_alerts_newest_first_with_their_channels(db_dsn):
    older = add_alert(
        db_dsn,
        "money: 120 waiting (threshold 100)",
        severity="critical",
        age_s=60,
        channels={"log": "sent", "sms": "sent SM123"},
    )
    newer = add_alert(db_dsn, "communication is slow", queue="communication")
    done = add_alert(
        db_dsn,
        "background was slow",
        age_s=30,
        acknowledged_by="ops@example.com",
        acknowledged_at="2026-01-02T03:04:05Z",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/alerts")).text
    assert page.index(f'data-alert="{newer}"') < page.index(f'data-alert="{older}"')
    assert f'data-alert="{done}"' not in page
    critical = row_of(page, older)
    assert '<span class="badge critical">critical</span>' in critical
    assert 'data-field="type">queue_depth<' in critical
    assert 'data-field="queue">money<' in critical
    assert "money: 120 waiting (threshold 100)" in critical
    assert 'data-channel="sms">sms: sent SM123<' in critical
    assert 'data-channel="log">log: sent<' in critical
    assert '<span class="badge open">open</span>' in critical


async def test_all_shows_acknowledged_alerts_with_who_and_when(db_dsn):
    open_one = add_alert(db_dsn, "still open")
    done = add_alert(
        db_dsn,
        "handled",
        acknowledged_by="ops@example.com",
        acknowledged_at="2026-01-02T03:04:05Z",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/alerts?show=all")).text
    assert f'data-alert="{open_one}"' in page
    acknowledged = row_of(page, done).split('data-field="acknowledged"')[1]
    assert "ops@example.com" in acknowledged
    assert "2026-01-02 03:04:05 UTC" in acknowledged
    assert '<option value="all" selected>' in page


async def test_the_page_is_bounded_to_the_newest_alerts(db_dsn):
    sql(
        db_dsn,
        """INSERT INTO queue.alert_history (severity, type, queue_name, message, created_at)
           SELECT 'info', 'queue_depth', 'background', 'alert ' || n,
                  now() - make_interval(secs => 1000 - n)
           FROM generate_series(1, 205) AS n""",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "monitoring")
        page = (await client.get("/console/alerts")).text
    assert page.count("data-alert=") == 200
    assert ">alert 205<" in page and ">alert 6<" in page
    assert ">alert 5<" not in page


async def test_admin_acknowledges_an_alert_audited(db_dsn):
    alert = add_alert(db_dsn, "money: 120 waiting")
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin", "ops@example.com")
        page = (await client.get("/console/alerts")).text
        answer = await post_form(client, f"/console/alerts/{alert}/acknowledge", csrf)
        after = await client.get(answer.headers["location"])
    assert f'action="/console/alerts/{alert}/acknowledge"' in row_of(page, alert)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/console/alerts?notice=acknowledged",
    )
    assert "Alert acknowledged." in after.text
    assert f'data-alert="{alert}"' not in after.text  # no longer open
    assert sql(
        db_dsn,
        "SELECT acknowledged_by, acknowledged_at IS NOT NULL FROM queue.alert_history",
    ) == [("ops@example.com", True)]
    assert sql(
        db_dsn,
        "SELECT actor, role, action, target, request_id IS NOT NULL FROM queue.audit_log",
    ) == [("ops@example.com", "admin", "alert.acknowledge", f"alert:{alert}", True)]


async def test_an_acknowledged_alert_offers_no_button(db_dsn):
    done = add_alert(
        db_dsn,
        "handled",
        acknowledged_by="ops@example.com",
        acknowledged_at="2026-01-02T03:04:05Z",
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = (await client.get("/console/alerts?show=all")).text
    assert "Acknowledge</button>" not in row_of(page, done)


async def test_monitoring_sees_no_button_and_is_refused(db_dsn):
    alert = add_alert(db_dsn, "money: 120 waiting")
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "monitoring")
        page = (await client.get("/console/alerts")).text
        refused = await post_form(client, f"/console/alerts/{alert}/acknowledge", csrf)
    assert f'data-alert="{alert}"' in page
    assert "Acknowledge</button>" not in page
    assert "/acknowledge" not in page
    assert refused.status_code == 403
    assert "the monitoring role may not do this here" in refused.text
    assert sql(db_dsn, "SELECT acknowledged_at FROM queue.alert_history") == [(None,)]
    assert sql(db_dsn, "SELECT count(*) FROM queue.audit_log") == [(0,)]


async def test_acknowledging_without_the_csrf_token_changes_nothing(db_dsn):
    alert = add_alert(db_dsn, "money: 120 waiting")
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        missing = await client.post(
            f"/console/alerts/{alert}/acknowledge", follow_redirects=False
        )
        forged = await post_form(
            client, f"/console/alerts/{alert}/acknowledge", "0" * 64
        )
    assert (missing.status_code, forged.status_code) == (403, 403)
    assert sql(db_dsn, "SELECT acknowledged_at FROM queue.alert_history") == [(None,)]
    assert sql(db_dsn, "SELECT count(*) FROM queue.audit_log") == [(0,)]


async def test_an_unknown_alert_is_a_page_that_says_so(db_dsn):
    async with api_client(db_dsn) as client:
        csrf = await sign_in(client, "admin")
        answer = await post_form(client, "/console/alerts/987654/acknowledge", csrf)
    assert answer.status_code == 404
    assert "alert 987654 does not exist" in answer.text and "<html" in answer.text


async def test_hostile_alert_text_is_escaped(db_dsn):
    alert = add_alert(
        db_dsn,
        "<script>alert('message')</script>",
        type="<img src=x onerror=alert(1)>",
        queue="<b>queue</b>",
        channels={"<i>sms</i>": "<script>alert('channel')</script>"},
    )
    async with api_client(db_dsn) as client:
        await sign_in(client, "admin")
        page = (await client.get("/console/alerts")).text
    row = row_of(page, alert)
    assert "<script>" not in page
    assert "<img" not in page and "<b>queue" not in page and "<i>sms" not in page
    assert "&lt;script&gt;alert(&#39;message&#39;)&lt;/script&gt;" in row
    assert "&lt;img src=x onerror=alert(1)&gt;" in row
    assert "&lt;script&gt;alert(&#39;channel&#39;)&lt;/script&gt;" in row
