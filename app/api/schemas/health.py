"""Bodies of the probes: GET /health and GET /health/ready."""

from typing import Literal

from app.api.schemas.base import Schema


class HealthCheck(Schema):
    """One component of GET /health."""

    healthy: bool
    detail: str


class Health(Schema):
    """GET /health and GET /health/ready."""

    status: Literal["ok", "unhealthy"]
    checks: dict[str, HealthCheck]
