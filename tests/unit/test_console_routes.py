"""Every console action is an admin's: a POST route without the guard would let
the monitoring role act. Checked over the routes the app really serves."""

from app.api.app import create_app
from app.api.console.session import actors_only, viewers_only
from tests.helpers.api import test_settings as settings_for

# Signing in and out is for every console role (sign-in for anyone).
OPEN_POSTS = {"/console/sign-in", "/console/sign-out"}


def _console_handlers():
    app = create_app(settings_for("postgresql://unused/unused"))
    for route in app.routes:
        if not route.path.startswith("/console"):
            continue
        for handler in getattr(route, "route_handlers", []):
            yield route.path, handler


def test_every_console_post_but_signing_is_guarded_for_admins():
    posts = [
        (path, handler)
        for path, handler in _console_handlers()
        if "POST" in handler.http_methods
    ]
    assert len(posts) >= 15
    unguarded = [
        path
        for path, handler in posts
        if path not in OPEN_POSTS and actors_only not in handler.resolve_guards()
    ]
    assert unguarded == []


def test_every_console_page_but_sign_in_and_assets_needs_a_console_role():
    pages = [
        path
        for path, handler in _console_handlers()
        if "GET" in handler.http_methods
        and not path.startswith(("/console/sign-in", "/console/static"))
        and viewers_only not in handler.resolve_guards()
    ]
    assert pages == []
