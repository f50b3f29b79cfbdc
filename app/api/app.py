"""The Litestar application: routes, auth, problem details, request ids, docs.

`create_app(settings)` builds it; its lifespan opens the process's pool and
closes it on shutdown, and runs the process's counter reports
(`app.services.fleet_counters`). Controllers receive a connection per request and make one
service call each.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig
from litestar.plugins.pydantic import PydanticPlugin
from litestar.static_files import create_static_files_router

from app.api.auth import jwt_auth, token_rules
from app.api.console import console_routers, template_config
from app.api.controllers.alerts import AlertController
from app.api.controllers.batches import BatchController
from app.api.controllers.health import health, live, prometheus, ready
from app.api.controllers.jobs import JobController
from app.api.controllers.metrics import MetricsController
from app.api.controllers.old_probes import old_health, old_ready
from app.api.controllers.queues import QueueController
from app.api.controllers.rate_limits import RateLimitController
from app.api.controllers.schedules import ScheduleController
from app.api.controllers.webhooks import stripe_event
from app.api.documented import ClosedBodiesSchemaPlugin
from app.api.problems import problem_details_plugin
from app.api.rate_limit import rate_limit_config, refused_callers_limit
from app.api.request_ids import request_id_middleware
from app.observability import tracing
from app.services import fleet_counters
from app.services.console_feed import ConsoleFeed
from app.services.database import (
    DATABASE_UNAVAILABLE,
    Connection,
    Pool,
    check_in_background,
    create_pool,
)
from app.services.group_enqueue import GroupEnqueuer
from app.settings import Settings

# Swagger UI 5 shipped in the package (static/swagger-ui): the docs work offline.
SWAGGER_ASSETS = Path(__file__).parent / "static" / "swagger-ui"
ASSETS = "/schema/assets"


logger = logging.getLogger(__name__)

# How long the API's background tasks get to stop (the counters' last report
# included) before the API stops without them: a task that does not stop
# must never keep a stopping API up.
BACKGROUND_STOP_S = 10.0


def create_app(settings: Settings) -> Litestar:
    """Return the API; its lifespan opens the process's pool from the settings."""
    opened_pools: list[Pool] = []
    enqueuers: list[GroupEnqueuer] = []
    feeds: list[ConsoleFeed] = []

    def pool() -> Pool:
        return opened_pools[0]

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        del app
        database = settings.database
        if database.url is None:
            raise RuntimeError("DATABASE_URL is not set")
        # Sessions bounded for an HTTP request, not for a batch job: a request
        # that cannot get a connection, a lock or an answer in time is a 503.
        opened = create_pool(
            database.url,
            min_size=database.pool_min_size,
            max_size=database.pool_max_size,
            statement_timeout_ms=settings.api.statement_timeout_ms,
            idle_in_transaction_timeout_ms=database.idle_in_transaction_timeout_ms,
            lock_timeout_ms=settings.api.lock_timeout_ms,
            acquire_timeout_s=settings.api.db_acquire_timeout_s,
            name="queue-service-api",
        )
        async with opened:
            opened_pools.append(opened)
            enqueuers.append(GroupEnqueuer(opened))
            feeds.append(ConsoleFeed(opened, database.url))
            background = [
                asyncio.create_task(
                    fleet_counters.report_forever(
                        opened, every_s=settings.log.metrics_report_s
                    ),
                    name="counter reports",
                ),
                asyncio.create_task(feeds[0].run(), name="console feed"),
            ]
            try:
                yield
            finally:
                for task in background:
                    task.cancel()
                _, stuck = await asyncio.wait(background, timeout=BACKGROUND_STOP_S)
                for task in stuck:
                    logger.warning(
                        "A background task did not stop; the API stops without it.",
                        extra={"action": "task_not_stopped", "task": task.get_name()},
                    )
                opened_pools.clear()
                enqueuers.clear()
                feeds.clear()

    async def provide_connection() -> AsyncIterator[Connection]:
        async with pool().connection() as conn:
            try:
                yield conn
            except DATABASE_UNAVAILABLE:
                # This connection died, and after a restart so did the idle
                # ones: replace them now, not one failed request at a time.
                check_in_background(pool())
                raise

    def provide_enqueuer() -> GroupEnqueuer:
        return enqueuers[0]

    def provide_settings() -> Settings:
        return settings

    def provide_feed() -> ConsoleFeed:
        return feeds[0]

    auth = jwt_auth(settings.api)
    openapi = OpenAPIConfig(
        title="queue-service",
        version="1",
        description="Postgres-native job queue: jobs, queues, rate limits, metrics, alerts.",
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS}/swagger-ui-bundle.js",
                css_url=f"{ASSETS}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
                path="/",
            )
        ],
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http", scheme="bearer", bearer_format="JWT"
                )
            }
        ),
        security=[{"BearerToken": []}],
    )
    handlers: list[Any] = [
        JobController,
        BatchController,
        QueueController,
        RateLimitController,
        MetricsController,
        AlertController,
        ScheduleController,
        health,
        live,
        ready,
        prometheus,
        old_health,
        old_ready,
        stripe_event,
        create_static_files_router(path=ASSETS, directories=[SWAGGER_ASSETS]),
        *console_routers(settings, token_rules(settings.api)),
    ]
    middleware: list[Any] = [
        # Route templates, not paths, as labels: a path carries job ids.
        PrometheusConfig(
            app_name="queue_service",
            # metrics.HTTP_PREFIX: queue_service_http_requests_total, ...
            prefix="queue_service_http",
            group_path=True,
            exclude_unhandled_paths=True,
        ).middleware,
    ]
    # Request ids outermost, before authentication, so a 401 names its
    # request too; then the limit of callers that authentication refuses.
    outermost: list[Any] = [request_id_middleware]
    if tracing.enabled():
        # First of all, so a refused request (401, 429) is a span too.
        outermost.insert(0, tracing_middleware())
    if settings.api.rate_limit_per_minute:
        api = settings.api
        base = "/api/v1/queue"
        limit = rate_limit_config(
            api.rate_limit_per_minute,
            pool,
            endpoint_limits=(
                (f"{base}/jobs", api.rate_limit_jobs_per_minute),
                (f"{base}/batches", api.rate_limit_jobs_per_minute),
                (f"{base}/queues", api.rate_limit_queues_per_minute),
                (f"{base}/metrics", api.rate_limit_metrics_per_minute),
            ),
        )
        middleware.append(limit.middleware)
        outermost.append(refused_callers_limit(limit))
    return Litestar(
        route_handlers=handlers,
        lifespan=[lifespan],
        dependencies={
            "conn": Provide(provide_connection),
            "pool": Provide(pool, sync_to_thread=False),
            "enqueuer": Provide(provide_enqueuer, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "feed": Provide(provide_feed, sync_to_thread=False),
        },
        # Bodies are snake_case in Python; responses and the OpenAPI document
        # use their camelCase aliases, the old service's field names.
        # The closed-bodies schema plugin comes first, so it is the one asked.
        plugins=[
            problem_details_plugin(),
            ClosedBodiesSchemaPlugin(prefer_alias=True),
            # Strict: lax mode takes true for 1 and 0 for false, which the
            # document (integer, boolean) does not.
            PydanticPlugin(prefer_alias=True, validate_strict=True),
        ],
        middleware=middleware,
        on_app_init=[auth.on_app_init, _outermost(outermost)],
        openapi_config=openapi,
        template_config=template_config(),
        debug=False,
        # Litestar's default config replaces the root handler set up by
        # configure_logging (JSON lines, redaction) with its own plain one.
        logging_config=None,
    )


def tracing_middleware() -> Any:
    """Return Litestar's OpenTelemetry middleware on this process's tracer provider.

    Imported here: it needs the `tracing` extra, which is there when tracing is on.
    Probes and scrapes are not traced: they would be most of the traces.
    """
    from litestar.plugins.opentelemetry import OpenTelemetryConfig

    return OpenTelemetryConfig(
        tracer_provider=tracing.tracer_provider(),
        exclude=[r"^/health", r"^/metrics$", r"^/api/v1/queue/health", r"^/schema"],
        exclude_spans=["receive", "send"],
    ).middleware


def _outermost(middleware: list[Any]) -> Any:
    # Runs after the JWT plugin has put its middleware first.
    def on_app_init(app_config: AppConfig) -> AppConfig:
        app_config.middleware[0:0] = middleware
        return app_config

    return on_app_init
