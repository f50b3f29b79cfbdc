"""The ASGI entry point for `queue-service serve` (and any ASGI server)."""

import gc

from litestar import Litestar

from app.api.app import create_app
from app.settings import get_settings


def app() -> Litestar:
    """Build the API from the environment's settings (an app factory)."""
    built = create_app(get_settings())
    # A request allocates a few thousand short-lived objects; with the default
    # threshold the collector runs every few requests and its full passes walk
    # the whole import-time heap. Freezing that heap and collecting the young
    # generation less often takes those pauses off the latency tail.
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    return built
