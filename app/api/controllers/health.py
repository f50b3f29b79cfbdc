"""Probes and Prometheus: open to anyone (no token)."""

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.api.context import AppSettings, Conn, DbPool
from app.api.documented import problems
from app.api.schemas.health import Health, HealthCheck
from app.observability.metrics import CONTENT_TYPE_LATEST
from app.services import health as health_service
from app.services import monitoring

# An empty requirement: no token needed (the document's default asks for one).
OPEN: list[dict[str, list[str]]] = [{}]
UNHEALTHY = {
    503: ResponseSpec(
        data_container=Health,
        description="A check failed; `checks` says which.",
        generate_examples=False,
    )
}


def _answer(checks: list[health_service.Check]) -> Response[Health]:
    healthy = all(check.healthy for check in checks)
    body = Health(
        status="ok" if healthy else "unhealthy",
        checks={
            check.name: HealthCheck(healthy=check.healthy, detail=check.detail)
            for check in checks
        },
    )
    return Response(
        body, status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE
    )


@get("/health/live", operation_id="live", tags=["health"], security=OPEN)
async def live() -> dict[str, str]:
    """Answer without any I/O: the process serves requests."""
    return {"status": "ok"}


@get(
    "/health/ready",
    operation_id="ready",
    tags=["health"],
    security=OPEN,
    responses=UNHEALTHY,
)
async def ready(pool: DbPool) -> Response[Health]:
    """200 when the database answers within 2 s, else 503 (within those 2 s)."""
    return _answer([await health_service.ready(pool)])


@get(
    "/health",
    operation_id="health",
    tags=["health"],
    security=OPEN,
    responses=UNHEALTHY,
)
async def health(pool: DbPool, settings: AppSettings) -> Response[Health]:
    """200 when the database answers, a worker heartbeats and the queues read; else 503."""
    return _answer(
        await health_service.health(
            pool, stalled_after_s=settings.worker.stalled_after_s
        )
    )


@get(
    "/metrics",
    operation_id="prometheus",
    tags=["metrics"],
    media_type=CONTENT_TYPE_LATEST,
    security=OPEN,
    responses=problems(common=(503,)),
)
async def prometheus(conn: Conn, settings: AppSettings) -> Response[bytes]:
    """Prometheus exposition: queue, worker and database gauges read now from SQL, plus HTTP metrics."""
    return Response(
        await monitoring.scrape(conn, stalled_after_s=settings.worker.stalled_after_s),
        media_type=CONTENT_TYPE_LATEST,
    )
