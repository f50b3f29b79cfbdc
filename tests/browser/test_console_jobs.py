"""The job browser and a job's page in a real browser: the filters, the keyset
pages, a job's attempts, errors and reasons, and an admin's retry and cancel."""

from playwright.async_api import Page, expect

from app.services.console_jobs import PAGE_SIZE
from tests.browser import seed
from tests.browser.conftest import sign_in, token
from tests.browser.console import expect_notice, open_page

HOSTILE = '<img src=x onerror="window.pwned = true"> said no'


async def shown_ids(page: Page) -> list[int]:
    """The browser's job ids, in the order shown."""
    return [
        int(value)
        for value in await page.locator("tr[data-job-id]").evaluate_all(
            "rows => rows.map(row => row.dataset.jobId)"
        )
    ]


async def search(page: Page, **fields: str) -> None:
    """Fill the filter form (empty fields cleared) and search."""
    form = page.get_by_role("search", name="Filter jobs")
    for label, value in (
        ("Queue", fields.get("queue", "")),
        ("Job type", fields.get("type", "")),
        ("Job id", fields.get("id", "")),
    ):
        await form.get_by_label(label, exact=True).fill(value)
    await form.get_by_label("State").select_option(fields.get("state", ""))
    await form.get_by_role("button", name="Search").click()
    await page.wait_for_load_state()


async def test_the_browser_filters_by_queue_type_and_state(
    console_server: str, page: Page, db_dsn: str
) -> None:
    tracked = seed.track(db_dsn, "a")
    failed_track = seed.track(db_dsn, "b")
    seed.fail(db_dsn, failed_track)
    refund = seed.refund(db_dsn, "tx-1")
    failed_refund = seed.refund(db_dsn, "tx-2")
    seed.fail(db_dsn, failed_refund)
    email = seed.enqueue(
        db_dsn, "communication", "send-email", {"to": "a@example.com", "template": "t"}
    )
    everything = [email, failed_refund, refund, failed_track, tracked]
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    await open_page(page, "Jobs")
    assert await shown_ids(page) == everything  # newest first
    row = page.locator(f'tr[data-job-id="{failed_refund}"]')
    await expect(row.locator("[data-field=queue]")).to_have_text("money")
    await expect(row.locator("[data-field=type]")).to_have_text("refund-process")
    await expect(row.locator("[data-field=state]")).to_have_text("failed")
    await expect(row.locator("[data-field=last-error-type]")).to_have_text(
        "ProviderUnavailable"
    )
    for fields, expected in (
        ({"queue": "money"}, [failed_refund, refund]),
        ({"type": "analytics-track"}, [failed_track, tracked]),
        ({"state": "failed"}, [failed_refund, failed_track]),
        ({"queue": "background", "state": "todo"}, [tracked]),
        ({"type": "refund-process", "state": "failed"}, [failed_refund]),
        ({"queue": "communication", "type": "send-email", "state": "todo"}, [email]),
        ({"queue": "money", "state": "cancelled"}, []),
        ({"id": str(refund)}, [refund]),
    ):
        await search(page, **fields)
        assert await shown_ids(page) == expected, fields
        # The form keeps what was searched for, and so does the URL.
        for name, value in fields.items():
            assert f"{name}={value}" in page.url
        if not expected:
            await expect(page.locator("[data-field=empty]")).to_have_text(
                "No job matches among these ids."
            )
    await expect(page.locator("[data-field=found-by]")).to_have_text("Found by its id.")
    await expect(page.get_by_label("Job id")).to_have_value(str(refund))
    # The form refuses a mistyped id; typed into the URL, the page says why.
    await page.get_by_label("Job id").fill("12x")
    assert not await page.get_by_label("Job id").evaluate(
        "field => field.checkValidity()"
    )
    response = await page.goto(f"{console_server}/console/jobs?id=12x")
    assert response is not None and response.status == 400
    await expect(page.locator("[data-field=errors]")).to_contain_text(
        "Job id: a job id is a positive whole number."
    )
    await page.get_by_role("link", name="Clear").click()
    await expect(page).to_have_url(f"{console_server}/console/jobs")
    assert await shown_ids(page) == everything


async def test_the_older_link_pages_through_the_jobs_with_the_filters(
    console_server: str, page: Page, db_dsn: str
) -> None:
    ids = [
        row[0]
        for row in seed.sql(
            db_dsn,
            "SELECT (queue.enqueue('background', 'analytics-track', "
            "jsonb_build_object('eventType', 'e' || n))).job_id "
            "FROM generate_series(1, %s) AS n ORDER BY 1",
            (PAGE_SIZE + 5,),
        )
    ]
    seed.refund(db_dsn)  # newest, and of another queue
    newest_first = ids[::-1]
    await sign_in(page, console_server, token("monitoring", "mo@example.com"))
    await page.goto(f"{console_server}/console/jobs?queue=background")
    assert await shown_ids(page) == newest_first[:PAGE_SIZE]
    older = page.get_by_role("link", name="Older", exact=True)
    await older.click()
    await expect(page).to_have_url(
        f"{console_server}/console/jobs?queue=background&before={newest_first[PAGE_SIZE - 1]}"
    )
    assert await shown_ids(page) == newest_first[PAGE_SIZE:]
    await expect(older).to_have_count(0)
    await expect(page.get_by_label("Queue", exact=True)).to_have_value("background")
    await page.get_by_role("link", name="Newest").click()
    await expect(page).to_have_url(f"{console_server}/console/jobs?queue=background")
    assert await shown_ids(page) == newest_first[:PAGE_SIZE]


async def test_a_failed_job_s_page_shows_its_attempts_and_an_admin_retries_it(
    console_server: str, page: Page, db_dsn: str
) -> None:
    job = seed.refund(db_dsn, "tx-4711")
    seed.fail(db_dsn, job, error_type="CardDeclined", message=HOSTILE, attempts=2)
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    await open_page(page, "Jobs")
    await page.get_by_role("link", name=str(job), exact=True).click()
    await expect(page).to_have_url(f"{console_server}/console/jobs/{job}")
    await expect(page.locator("h1 [data-field=state]")).to_have_text("failed")
    await expect(page.locator("[data-field=queue]")).to_have_text("money")
    await expect(page.locator("[data-field=type]")).to_have_text("refund-process")
    await expect(page.locator("[data-field=attempts]")).to_have_text("2 of 10")
    await expect(page.locator("[data-field=last-error]")).to_have_text(
        f"CardDeclined: {HOSTILE}"
    )
    attempts = page.locator("tr[data-attempt]")
    await expect(attempts.locator("[data-field=outcome]")).to_have_text(
        ["retried", "failed"]
    )
    await expect(attempts.locator("[data-field=error-type]")).to_have_text(
        ["Timeout", "CardDeclined"]
    )
    await expect(attempts.locator("[data-field=error-message]")).to_have_text(
        ["the attempt timed out after 30 s", HOSTILE]
    )
    await expect(attempts.locator("[data-field=took]")).to_have_text(
        ["2.500 s", "2.500 s"]
    )
    await expect(page.locator("li[data-reason]")).to_have_count(1)
    await expect(page.locator('li[data-reason="failed"]')).to_be_visible()
    await expect(page.locator("[data-field=payload]")).to_contain_text(
        '"transactionId": "tx-4711"'
    )
    # The error came out as text: its markup never ran.
    await expect(page.locator("main img")).to_have_count(0)
    assert await page.evaluate("() => window.pwned") is None
    await page.get_by_role("button", name="Retry", exact=True).click()
    await expect_notice(page, f"/console/jobs/{job}", "retried")
    await expect(page.locator("h1 [data-field=state]")).to_have_text("todo")
    await expect(page.get_by_role("button", name="Cancel", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Retry", exact=True)).to_have_count(0)
    assert seed.state_of(db_dsn, job) == ("todo", 0, False)
    assert seed.audit_actions(db_dsn) == [
        ("ada@example.com", "admin", "job.retry", f"job:{job}")
    ]
    # The page's link leads to the jobs of its queue and type.
    await page.get_by_role("link", name="Jobs of this queue and type").click()
    await expect(page).to_have_url(
        f"{console_server}/console/jobs?queue=money&type=refund-process"
    )
    assert await shown_ids(page) == [job]


async def test_an_admin_cancels_a_waiting_job(
    console_server: str, page: Page, db_dsn: str
) -> None:
    job = seed.track(db_dsn, "cancel-me")
    other = seed.track(db_dsn, "keep-me")
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    await page.goto(f"{console_server}/console/jobs?state=todo&type=analytics-track")
    await page.locator(f'tr[data-job-id="{job}"] a').click()
    await expect(page.locator("h1 [data-field=state]")).to_have_text("todo")
    # No worker serves background: the page says why the job waits.
    await expect(page.locator('li[data-reason="no_worker"]')).to_be_visible()
    await page.get_by_role("button", name="Cancel", exact=True).click()
    await expect_notice(page, f"/console/jobs/{job}", "cancelled")
    await expect(page.locator("h1 [data-field=state]")).to_have_text("cancelled")
    await expect(page.locator('li[data-reason="cancelled"]')).to_be_visible()
    await expect(page.locator("section[aria-label=Actions]")).to_have_count(0)
    assert seed.state_of(db_dsn, job) == ("cancelled", 0, False)
    assert seed.state_of(db_dsn, other) == ("todo", 0, False)
    assert seed.audit_actions(db_dsn) == [
        ("ada@example.com", "admin", "job.cancel", f"job:{job}")
    ]
