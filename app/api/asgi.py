"""The ASGI entry point for `queue-service serve` (and any ASGI server)."""

from litestar import Litestar

from app.api.app import create_app
from app.settings import get_settings


def app() -> Litestar:
    """Build the API from the environment's settings (an app factory)."""
    return create_app(get_settings())
