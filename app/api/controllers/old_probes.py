"""The old service's probes, at its paths, in its shapes: open to anyone (no token).

Old Kubernetes manifests and load balancers call /api/v1/queue/health and
/api/v1/queue/health/ready; ours are /health, /health/ready and /health/live
(app.api.controllers.health), with the same checks.
"""

from datetime import UTC, datetime

from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from app.api.context import AppSettings, DbPool
from app.api.controllers.health import OPEN
from app.api.schemas.health import ComponentState, OldHealth, OldHealthChecks, OldReady
from app.services import health as health_service


def _state(healthy: bool) -> ComponentState:
    return "healthy" if healthy else "unhealthy"


@get(
    "/api/v1/queue/health",
    operation_id="oldHealth",
    tags=["health"],
    security=OPEN,
    responses={
        503: ResponseSpec(
            data_container=OldHealth,
            description="Degraded or unhealthy; `checks` says which component.",
            generate_examples=False,
        )
    },
)
async def old_health(pool: DbPool, settings: AppSettings) -> Response[OldHealth]:
    """The old health probe: 200 when healthy, else 503 (degraded or unhealthy)."""
    checks = {
        check.name: check
        for check in await health_service.health(
            pool, stalled_after_s=settings.worker.stalled_after_s
        )
    }
    database = checks["database"].healthy
    healthy = all(check.healthy for check in checks.values())
    body = OldHealth(
        status="healthy" if healthy else ("degraded" if database else "unhealthy"),
        checks=OldHealthChecks(
            service="healthy",
            database=_state(database),
            # No Redis here: its job (holding the queues) is the database's,
            # so old clients reading this check see the database's state.
            redis=_state(database),
            queues=_state(checks["queues"].healthy),
            workers=_state(checks["workers"].healthy),
        ),
        details={name: check.detail for name, check in checks.items()},
        timestamp=datetime.now(UTC),
    )
    return Response(
        body, status_code=HTTP_200_OK if healthy else HTTP_503_SERVICE_UNAVAILABLE
    )


@get(
    "/api/v1/queue/health/ready",
    operation_id="oldReady",
    tags=["health"],
    security=OPEN,
    responses={
        503: ResponseSpec(
            data_container=OldReady,
            description="The database does not answer within 2 s.",
            generate_examples=False,
        )
    },
)
async def old_ready(pool: DbPool) -> Response[OldReady]:
    """The old readiness probe: 200 when the database answers within 2 s, else 503."""
    check = await health_service.ready(pool)
    body = OldReady(
        status="ready" if check.healthy else "not ready",
        detail=check.detail,
        timestamp=datetime.now(UTC),
    )
    return Response(
        body,
        status_code=HTTP_200_OK if check.healthy else HTTP_503_SERVICE_UNAVAILABLE,
    )
