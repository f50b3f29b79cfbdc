"""The browser harness itself, on pages the API already serves: Chromium loads
them from a real server, runs their scripts and reports their status."""

from playwright.async_api import Page, expect


async def test_the_swagger_ui_page_renders_the_api_s_document(
    console_server: str, page: Page
) -> None:
    await page.goto(f"{console_server}/schema")
    # The server writes the title from the OpenAPI document's.
    await expect(page).to_have_title("queue-service")
    # Rendered by the bundle (fetched from /schema/assets) from the OpenAPI
    # 3.1 document: Swagger UI 4 answered "does not specify a valid version".
    await expect(page.get_by_role("heading", level=1)).to_contain_text("queue-service")
    await expect(page.locator(".opblock-tag").first).to_be_visible()
    await expect(page.get_by_text("does not specify a valid version")).to_have_count(0)


async def test_chromium_sees_the_status_of_a_response(
    console_server: str, page: Page
) -> None:
    response = await page.goto(f"{console_server}/health/live")
    assert response is not None
    assert response.status == 200
