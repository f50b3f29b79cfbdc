"""The operator console: server-rendered pages at /console, served by the API.

Jinja templates (autoescaped) with htmx for the live parts, its assets shipped
in the package (`static/`): no build step, no CDN. Each page module holds its
handlers; `console_routers` puts them behind the console's session and CSRF
middleware (`session`), and `template_config` registers the templates and
their filters. The pages call the same services as the API, so an action
here is audited, and refused, as it is there.
"""

from pathlib import Path
from typing import Any

from litestar import Router
from litestar.exceptions import (
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from app.api.auth import TokenRules
from app.api.console import moments, overview, session
from app.api.console.notices import notice_text
from app.api.console.pages import PAGES
from app.domain.errors import ClientError
from app.services.database import DATABASE_UNAVAILABLE
from app.settings import Settings

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Return the console's templates, with the filters and globals they use."""

    def register(engine: JinjaTemplateEngine) -> None:
        engine.engine.filters["age"] = moments.age
        engine.engine.filters["clock"] = moments.clock
        engine.engine.globals["moment"] = moments.moment
        engine.engine.globals["notice_text"] = notice_text

    return TemplateConfig(
        directory=TEMPLATES, engine=JinjaTemplateEngine, engine_callback=register
    )


def console_routers(settings: Settings, rules: TokenRules) -> list[Any]:
    """Return the console's routers: sign-in and assets open, the pages signed in."""
    csrf = DefineMiddleware(CSRFMiddleware, config=session.csrf_config(settings))
    handlers: dict[Any, Any] = {
        NotAuthorizedException: session.not_signed_in,
        PermissionDeniedException: session.refused,
        ClientError: session.refused,
        ValidationException: session.invalid_form,
        # Pages, not problem documents: the reader is a person.
        **dict.fromkeys(DATABASE_UNAVAILABLE, session.unavailable),
    }
    open_pages = Router(
        path="/",
        route_handlers=[session.sign_in_page, session.sign_in(rules)],
        middleware=[csrf],
        exception_handlers=handlers,
        include_in_schema=False,
    )
    signed_in = Router(
        path="/",
        route_handlers=[
            overview.overview,
            overview.events,
            overview.pause,
            overview.resume,
            session.sign_out,
            *PAGES,
        ],
        middleware=[session.cookie_auth(rules).middleware, csrf],
        guards=[session.viewers_only],
        exception_handlers=handlers,
        include_in_schema=False,
    )
    assets = create_static_files_router(
        path=session.STATIC, directories=[STATIC], include_in_schema=False
    )
    return [open_pages, signed_in, assets]
