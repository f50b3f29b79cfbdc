"""Signing in to the console under the test client, as a browser does."""

import re

from litestar.testing import AsyncTestClient

from tests.helpers.api import token

_CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def csrf_token(client: AsyncTestClient, path: str = "/console/sign-in") -> str:  # type: ignore[type-arg]
    """Load a console page and return the CSRF token its forms carry."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    found = _CSRF_FIELD.search(page.text)
    assert found, "the page carries no CSRF field"
    return found.group(1)


async def sign_in(
    client: AsyncTestClient,  # type: ignore[type-arg]
    role: str,
    sub: str = "operator@example.com",
    venues: tuple[str, ...] = (),
) -> str:
    """Sign in with a token of `role`; return the CSRF token for the session's forms."""
    csrf = await csrf_token(client)
    answer = await client.post(
        "/console/sign-in",
        data={"token": token(role, sub, venues), "_csrf_token": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console", answer.headers
    return csrf


async def post_form(
    client: AsyncTestClient,  # type: ignore[type-arg]
    path: str,
    csrf: str,
    **fields: str,
):  # type: ignore[no-untyped-def]
    """POST a console form with its CSRF field, without following the redirect."""
    return await client.post(
        path, data={"_csrf_token": csrf, **fields}, follow_redirects=False
    )
