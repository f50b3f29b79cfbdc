"""The ASGI entry point for `queue-service serve` (and any ASGI server)."""

import gc
import logging
import os

from litestar import Litestar

from app.api.app import create_app
from app.domain.job_type_plugins import load_job_type_plugins
from app.observability import tracing
from app.observability.logging import configure_logging
from app.settings import get_settings


def app() -> Litestar:
    """Build the API from the environment's settings (an app factory)."""
    settings = get_settings()
    if not logging.getLogger().handlers:
        # A process spawned by `queue-service serve --workers N` (or another
        # ASGI server): the CLI configured logging in its parent only.
        log_format = settings.log.format or (
            "text" if settings.env == "dev" else "json"
        )
        configure_logging(level=settings.log.level, json_lines=log_format == "json")
    if not tracing.enabled():
        # Likewise for tracing: the OTEL_* variables, in this process.
        tracing.configure_from_env(os.environ, service_name="queue-service-api")
    # The plugins' job types, once per process (the CLI's parent has them).
    load_job_type_plugins()
    built = create_app(settings)
    # A request allocates a few thousand short-lived objects; with the default
    # threshold the collector runs every few requests and its full passes walk
    # the whole import-time heap. Freezing that heap and collecting the young
    # generation less often takes those pauses off the latency tail.
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    return built
