"""Moving around the console as an operator does: by its navigation and its buttons."""

from playwright.async_api import Locator, Page, expect

from app.api.console.notices import NOTICES

# The navigation's labels, in its order, with each page's heading.
PAGES = {
    "Overview": ("/console", "Overview"),
    "Jobs": ("/console/jobs", "Jobs"),
    "Failures": ("/console/failures", "Failures"),
    "Limits": ("/console/limits", "Provider limits"),
    "Alerts": ("/console/alerts", "Alerts"),
    "Schedules": ("/console/schedules", "Schedules"),
    "Workers": ("/console/workers", "Workers"),
}


async def open_page(page: Page, label: str) -> None:
    """Click `label` in the header's navigation; return once that page has loaded."""
    path, heading = PAGES[label]
    await page.locator("header nav").get_by_role("link", name=label, exact=True).click()
    await expect(page).to_have_url(_url_of(page, path))
    await expect(page.locator("main h1")).to_have_text(heading)
    await expect(page.locator("header nav a[aria-current=page]")).to_have_text(label)


def _url_of(page: Page, path: str) -> str:
    base = page.url.split("/console", 1)[0]
    return f"{base}{path}"


def action_forms(page: Page) -> Locator:
    """The page's forms that change something (POST), sign-out aside."""
    return page.locator('main form[method="post"]')


async def expect_notice(page: Page, path: str, slug: str) -> None:
    """Wait for the page `path` an action redirected to, saying its outcome."""
    await expect(page).to_have_url(_url_of(page, f"{path}?notice={slug}"))
    await expect(page.locator("p.notice[role=status]")).to_have_text(NOTICES[slug])
