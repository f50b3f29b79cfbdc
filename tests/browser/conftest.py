"""A real Chromium driving a real `queue-service serve`, for the console's pages.

The browser is Debian's chromium package (`make browser-tools` installs it);
Playwright's wheel drives it and never downloads a browser of its own. A
missing chromium fails the tests that need it, with the command that installs
it: tests never skip.

The fixtures use Playwright's async API. Every test runs on pytest-asyncio's one
session loop, and the sync API marks a loop of its own as running in the test
thread for as long as it lives: every async test after it would then fail.

A failed test leaves a screenshot of its page, `failure.png`, in its tmp_path;
the failure report names the file.
"""

import shutil
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from app.api.auth import issue_token
from app.domain.access import Role
from tests.helpers.workers import free_port
from tests.ops import processes

CHROMIUM_INSTALL = (
    "install Debian's chromium package: "
    "`apt-get install -y --no-install-recommends chromium` (make browser-tools does)"
)
# Long enough for a page of a loaded CI machine, short enough that a selector
# matching nothing fails the test in seconds rather than at the run's timeout.
TIMEOUT_MS = 10_000
# The same for expect()'s assertions, whose own default is 5 s.
expect.set_options(timeout=TIMEOUT_MS)

_CALL_REPORT = pytest.StashKey[pytest.TestReport]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # The page fixture's teardown reads whether the test itself failed.
    report = yield
    if report.when == "call":
        item.stash[_CALL_REPORT] = report
    return report


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium launcher, which passes its /etc/chromium.d flags on."""
    path = shutil.which("chromium")
    if path is None:
        pytest.fail(f"chromium is not installed: {CHROMIUM_INSTALL}", pytrace=False)
    return path


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    """One headless Chromium for the whole run; each test gets its own context."""
    async with async_playwright() as playwright:
        # Chromium refuses to start as root with its sandbox ("Running as root
        # without --no-sandbox is not supported"), and the tests run as root,
        # CI too. Playwright's default is off already; said here, as it is why
        # this browser loads nothing but our own server's pages.
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, headless=True, chromium_sandbox=False
        )
        yield chromium
        await chromium.close()


@pytest.fixture
def console_server(db_dsn: str, tmp_path: Path) -> Iterator[str]:
    """`queue-service serve` on a free port against this test's database; its base URL.

    Its log is `api.log` in the test's tmp_path.
    """
    with processes.api(db_dsn, tmp_path, free_port()) as base:
        yield base


@pytest.fixture
async def page(
    browser: Browser,
    console_server: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> AsyncIterator[Page]:
    """A page in a fresh context (no cookies from other tests); screenshot on failure.

    It needs console_server so that it closes first: a page still open on the
    console's live stream holds the server's shutdown until it is killed, 30 s on.
    """
    context = await browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = await context.new_page()
        yield page
        report = request.node.stash.get(_CALL_REPORT, None)
        if report is not None and report.failed:
            screenshot = tmp_path / "failure.png"
            await page.screenshot(path=screenshot, full_page=True)
            # The report is printed at the end of the run, so this still shows.
            report.sections.append(("screenshot", str(screenshot)))
    finally:
        await context.close()


def token(role: Role | str, sub: str) -> str:
    """A token of `role` for `sub`, signed with the secret console_server runs with."""
    return issue_token(secret=processes.JWT_SECRET, role=Role(role), sub=sub)


async def sign_in(page: Page, base: str, token: str) -> None:
    """Sign in through the console's sign-in form; return once /console has loaded."""
    await page.goto(f"{base}/console/sign-in")
    form = page.locator('form[action="/console/sign-in"]')
    # By name alone: the field may be an input or a textarea.
    await form.locator('[name="token"]').fill(token)
    await form.locator('button[type="submit"]').click()
    await page.wait_for_url(f"{base}/console")
