"""The documentation's screenshots of the console, taken of a busy day's data.

With CONSOLE_SCREENSHOTS=1 they are written to docs/images/console/ (run it
after a change to a page's look and commit the PNGs); otherwise to the
test's tmp_path, so a plain run still renders every page with realistic data
and rewrites no tracked file.
"""

import os
import struct
from pathlib import Path

from playwright.async_api import Page, ViewportSize, expect

from tests.browser import seed
from tests.browser.conftest import sign_in, token

DOCS = Path(__file__).resolve().parents[2] / "docs" / "images" / "console"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


def png_size(path: Path) -> tuple[int, int]:
    """A PNG's width and height, from its IHDR chunk."""
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


async def test_screenshots_of_the_main_pages(
    console_server: str, page: Page, db_dsn: str, tmp_path: Path
) -> None:
    folder = DOCS if os.environ.get("CONSOLE_SCREENSHOTS") == "1" else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    ids = seed.a_realistic_day(db_dsn)
    await page.set_viewport_size(VIEWPORT)
    await sign_in(page, console_server, token("admin", "ops@example.com"))
    shots = {
        "overview.png": ("/console", "#live figure.chart svg polyline"),
        "jobs.png": ("/console/jobs", "tr[data-job-id]"),
        "job.png": (f"/console/jobs/{ids['failed']}", "tr[data-attempt]"),
        "failures.png": ("/console/failures", "tr[data-group]"),
        "limits.png": ("/console/limits", "tr[data-breaker]"),
    }
    for name, (path, rows) in shots.items():
        await page.goto(f"{console_server}{path}")
        await expect(page.locator(rows).first).to_be_visible()
        await page.screenshot(path=folder / name, full_page=True)
        width, height = png_size(folder / name)
        assert width == VIEWPORT["width"]
        assert height >= VIEWPORT["height"] or name == "job.png", (name, height)
