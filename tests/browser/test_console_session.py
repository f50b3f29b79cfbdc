"""Signing in and out of the console in a real browser, and what each role sees.

An admin gets every page with its actions; monitoring gets every page and no
action at all, and a form forged in its browser is refused; a bad token is
sent back with the reason; after signing out every page asks to sign in.
"""

from playwright.async_api import Page, expect

from tests.browser import seed
from tests.browser.conftest import sign_in, token
from tests.browser.console import PAGES, action_forms, open_page


def every_page_has_data(dsn: str) -> dict[str, int]:
    """One row for each page to show (and, for an admin, to act on)."""
    failed = seed.refund(dsn, "tx-failed")
    seed.fail(dsn, failed)
    waiting = seed.track(dsn, "waiting")
    worker = seed.register_worker(dsn, "background")
    running = seed.track(dsn, "running")
    seed.run_on(dsn, worker, running)
    seed.add_alert(dsn, "money: 120 waiting (threshold 100)")
    seed.add_schedule(dsn, "nightly-cleanup")
    return {"failed": failed, "waiting": waiting, "running": running}


async def test_an_admin_sees_every_page_with_its_actions(
    console_server: str, page: Page, db_dsn: str
) -> None:
    jobs = every_page_has_data(db_dsn)
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    await expect(page.locator("header .role")).to_have_text("ada@example.com · admin")
    await expect(page.get_by_role("button", name="Pause background")).to_be_visible()
    # Each page, reached by the navigation, offers its actions to an admin.
    buttons = {
        "Jobs": [],
        "Failures": ["Retry group", "Discard group"],
        "Limits": ["Stop stripe", "Reset stripe", "Stop every provider"],
        "Alerts": ["Acknowledge alert"],
        "Schedules": ["Disable nightly-cleanup", "Run nightly-cleanup now"],
        "Workers": [],
        "Overview": ["Pause money"],
    }
    for label, names in buttons.items():
        await open_page(page, label)
        for name in names:
            await expect(page.get_by_role("button", name=name).first).to_be_visible()
    for job, button in (
        (jobs["failed"], "Retry"),
        (jobs["waiting"], "Cancel"),
        (jobs["running"], "Abort"),
    ):
        await page.goto(f"{console_server}/console/jobs/{job}")
        await expect(
            page.get_by_role("button", name=button, exact=True)
        ).to_be_visible()


async def test_monitoring_sees_every_page_and_no_action(
    console_server: str, page: Page, db_dsn: str
) -> None:
    jobs = every_page_has_data(db_dsn)
    await sign_in(page, console_server, token("monitoring", "mo@example.com"))
    await expect(page.locator("header .role")).to_have_text(
        "mo@example.com · monitoring"
    )
    # The pages show their rows, and not one form that changes anything.
    shown = {
        "Overview": 'tr[data-queue="background"]',
        "Jobs": f'tr[data-job-id="{jobs["failed"]}"]',
        "Failures": "tr[data-group]",
        "Limits": 'tr[data-bucket="stripe"]',
        "Alerts": "tr[data-alert]",
        "Schedules": 'tr[data-schedule="nightly-cleanup"]',
        "Workers": "tr[data-worker]",
    }
    for label in PAGES:
        if label != "Overview":
            await open_page(page, label)
        await expect(page.locator(shown[label]).first).to_be_visible()
        await expect(action_forms(page)).to_have_count(0)
    # Nor on a job's page, whatever its state; its payload comes redacted.
    for job in jobs.values():
        await page.goto(f"{console_server}/console/jobs/{job}")
        await expect(page.locator("h1 [data-field=id]")).to_have_text(str(job))
        await expect(action_forms(page)).to_have_count(0)
        await expect(page.locator("[data-field=redacted]")).to_be_visible()
    # A form written into the page by hand is refused, and nothing changes.
    await open_page(page, "Overview")
    async with page.expect_navigation() as navigation:
        await page.evaluate(
            """() => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = "/console/queues/background/pause";
                form.append(document.querySelector('input[name="_csrf_token"]').cloneNode());
                document.body.append(form);
                form.submit();
            }"""
        )
    response = await navigation.value
    assert response is not None and response.status == 403
    await expect(page.locator("main h1")).to_have_text("Not allowed")
    await expect(page.locator("main .error")).to_contain_text(
        "the monitoring role may not do this here"
    )
    assert (
        seed.one(db_dsn, "SELECT paused FROM queue.queues WHERE name = 'background'")
        is False
    )
    assert seed.audit_actions(db_dsn) == []


async def test_a_bad_token_is_sent_back_with_the_reason(
    console_server: str, page: Page
) -> None:
    sign_in_url = f"{console_server}/console/sign-in"
    for typed, reason in (
        (
            "not-a-token",
            "That token is not valid here: it is malformed, expired, signed "
            "with another key, or lacks a claim.",
        ),
        (
            token("user", "someone@example.com"),
            "The console is for the admin and monitoring roles.",
        ),
    ):
        await page.goto(sign_in_url)
        await page.get_by_label("Token").fill(typed)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page).to_have_url(
            f"{sign_in_url}?error={'invalid' if typed == 'not-a-token' else 'role'}"
        )
        await expect(page.get_by_role("alert")).to_have_text(reason)
        # Still signed out: the console sends the browser back to sign in.
        await page.goto(f"{console_server}/console")
        await expect(page).to_have_url(sign_in_url)
        await expect(page.locator("header nav")).to_have_count(0)


async def test_after_signing_out_every_page_asks_to_sign_in(
    console_server: str, page: Page, db_dsn: str
) -> None:
    job = seed.track(db_dsn)
    await sign_in(page, console_server, token("admin", "ada@example.com"))
    await page.get_by_role("button", name="Sign out").click()
    sign_in_url = f"{console_server}/console/sign-in"
    await expect(page).to_have_url(sign_in_url)
    await expect(page.get_by_label("Token")).to_be_visible()
    cookies = {cookie["name"] for cookie in await page.context.cookies()}
    assert "queue_console" not in cookies
    for path, _ in [*PAGES.values(), (f"/console/jobs/{job}", "")]:
        await page.goto(f"{console_server}{path}")
        await expect(page).to_have_url(sign_in_url)
        await expect(page.locator("main h1")).to_have_text("Sign in")
