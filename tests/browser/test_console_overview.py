"""The overview in a real browser: every queue's counts and charts, kept current
by the server-sent events without a reload, and an admin's pause and resume."""

from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from tests.browser import seed
from tests.browser.conftest import sign_in, token
from tests.browser.console import expect_notice


def cell(page: Page, queue: str, field: str):
    """A queue's cell in the overview's live table."""
    return page.locator(f'#live tr[data-queue="{queue}"] [data-field="{field}"]')


async def test_the_overview_shows_each_queue_s_counts_and_charts(
    console_server: str, page: Page, db_dsn: str
) -> None:
    waiting = [seed.track(db_dsn, f"waiting-{n}") for n in range(3)]
    # The oldest has waited five minutes (ages are counted from enqueued_at).
    seed.sql(
        db_dsn,
        "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{meta,enqueued_at}', "
        "to_jsonb(now() - interval '5 minutes')) WHERE id = %s",
        (waiting[0],),
    )
    seed.enqueue(
        db_dsn,
        "background",
        "analytics-track",
        {"eventType": "later"},
        scheduled_at=datetime.now(UTC) + timedelta(hours=1),
    )
    worker = seed.register_worker(db_dsn, "money")
    seed.run_on(db_dsn, worker, seed.refund(db_dsn, "tx-running"))
    seed.fail(db_dsn, seed.refund(db_dsn, "tx-failed"))
    # The monitor's snapshots of the last minutes draw the depth charts.
    seed.sql(
        db_dsn,
        "INSERT INTO queue.queue_metrics (queue_name, captured_at, waiting, scheduled, "
        "running, succeeded_last_hour, failed_last_hour) "
        "SELECT 'background', now() - make_interval(mins => m), 10 + m, 0, 1, 0, 0 "
        "FROM generate_series(1, 5) AS m",
    )
    await sign_in(page, console_server, token("monitoring", "mo@example.com"))
    expected = {
        "background": {"waiting": "3", "scheduled": "1", "running": "0", "failed": "0"},
        "money": {"waiting": "0", "scheduled": "0", "running": "1", "failed": "1"},
        "communication": {"waiting": "0", "scheduled": "0", "running": "0"},
    }
    for queue, fields in expected.items():
        for field, value in fields.items():
            await expect(cell(page, queue, field)).to_have_text(value)
        await expect(cell(page, queue, "state")).to_have_text("running")
    await expect(cell(page, "background", "oldest")).to_have_text("5 min")
    await expect(cell(page, "communication", "oldest")).to_have_text("none")
    await expect(page.locator("#live tr[data-queue]")).to_have_count(
        seed.one(db_dsn, "SELECT count(*) FROM queue.queues")
    )
    # Four charts; the last hour's depth has background's line and legend.
    charts = page.locator("#live figure.chart")
    await expect(charts.locator("figcaption")).to_have_text(
        [
            "Waiting, last hour (monitor snapshots)",
            "Completed per minute, last hour",
            "Waiting, last day (hourly peaks)",
            "Completed per hour, last day",
        ]
    )
    await expect(charts.locator("svg")).to_have_count(4)
    depth = charts.nth(0)
    await expect(depth.locator("svg polyline")).to_have_count(1)
    await expect(depth.locator(".legend li")).to_have_text(["background"])
    await expect(depth.locator("svg text.axis").first).to_have_text("15")
    # A queue's name leads to its jobs.
    await page.locator('#live tr[data-queue="background"] th a').click()
    await expect(page).to_have_url(f"{console_server}/console/jobs?queue=background")
    await expect(page.locator("tr[data-job-id]")).to_have_count(4)


async def test_the_overview_updates_live_without_reloading(
    console_server: str, page: Page, db_dsn: str
) -> None:
    await sign_in(page, console_server, token("monitoring", "mo@example.com"))
    await expect(cell(page, "background", "waiting")).to_have_text("0")
    read_at = await page.locator('[data-field="read-at"]').text_content()
    # A mark in this document: a reload would make a new one without it.
    await page.evaluate("() => { window.loadedOnce = true; }")
    # Inserted jobs notify the feed, which reads within about a second.
    seed.sql(
        db_dsn,
        "SELECT queue.enqueue('background', 'analytics-track', "
        "jsonb_build_object('eventType', 'live-' || n)) FROM generate_series(1, 3) AS n",
    )
    await expect(cell(page, "background", "waiting")).to_have_text("3")
    await expect(page.locator('[data-field="read-at"]')).not_to_have_text(read_at or "")
    # A job that starts sends no notification: the feed's refresh finds it.
    worker = seed.register_worker(db_dsn, "background")
    seed.run_on(db_dsn, worker, seed.track(db_dsn, "started"))
    await expect(cell(page, "background", "running")).to_have_text("1")
    await expect(cell(page, "background", "waiting")).to_have_text("3")
    assert await page.evaluate("() => window.loadedOnce") is True
    assert page.url == f"{console_server}/console"


async def test_an_admin_pauses_then_resumes_a_queue(
    console_server: str, page: Page, db_dsn: str
) -> None:
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    await page.get_by_role("button", name="Pause communication").click()
    await expect_notice(page, "/console", "paused")
    await expect(cell(page, "communication", "state")).to_have_text("paused")
    await expect(cell(page, "money", "state")).to_have_text("running")
    assert seed.one(
        db_dsn, "SELECT paused FROM queue.queues WHERE name = 'communication'"
    )
    await page.get_by_role("button", name="Resume communication").click()
    await expect_notice(page, "/console", "resumed")
    await expect(cell(page, "communication", "state")).to_have_text("running")
    await expect(page.get_by_role("button", name="Pause communication")).to_be_visible()
    assert not seed.one(
        db_dsn, "SELECT paused FROM queue.queues WHERE name = 'communication'"
    )
    assert seed.audit_actions(db_dsn) == [
        ("ada@example.com", "admin", "queue.pause", "queue:communication"),
        ("ada@example.com", "admin", "queue.resume", "queue:communication"),
    ]


async def test_the_live_part_never_goes_back_to_an_older_reading(
    console_server: str, page: Page, db_dsn: str
) -> None:
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    # Each state the live table shows from the next page's load on.
    await page.add_init_script(
        """document.addEventListener("DOMContentLoaded", () => {
            const state = () => document.querySelector(
                '#live tr[data-queue="communication"] [data-field="state"]').textContent;
            window.states = [state()];
            new MutationObserver(() => window.states.push(state()))
                .observe(document.getElementById("live"), {childList: true, subtree: true});
        });"""
    )
    # Right after a reading, so the feed's next one comes after the new page's.
    await page.evaluate(
        """() => new Promise(done => document.body.addEventListener(
            "htmx:sseMessage", done, {once: true}))"""
    )
    await page.get_by_role("button", name="Pause communication").click()
    await expect_notice(page, "/console", "paused")
    # Until the events bring a reading taken after the pause.
    await page.wait_for_function(
        "() => window.states.length > 1 && window.states.at(-1) === 'paused'"
    )
    assert set(await page.evaluate("() => window.states")) == {"paused"}
