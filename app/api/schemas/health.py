"""Bodies of the probes: GET /health and GET /health/ready, and the old service's."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Schema


class HealthCheck(Schema):
    """One component of GET /health."""

    healthy: bool
    detail: str


class Health(Schema):
    """GET /health and GET /health/ready."""

    status: Literal["ok", "unhealthy"]
    checks: dict[str, HealthCheck]


ComponentState = Literal["healthy", "unhealthy"]


class OldHealthChecks(Schema):
    """Each component of GET /api/v1/queue/health, in the old service's words."""

    service: Literal["healthy"] = Field(description="The API answers.")
    database: ComponentState
    redis: Literal["healthy"] = Field(
        description="This service keeps nothing in Redis: always healthy, for old clients."
    )
    queues: ComponentState
    workers: ComponentState = Field(description="A worker heartbeats.")


class OldHealth(Schema):
    """GET /api/v1/queue/health, the old service's probe.

    degraded: the database answers but another component does not (no worker
    heartbeats); unhealthy: the database does not. Both answer 503.
    """

    status: Literal["healthy", "degraded", "unhealthy"]
    checks: OldHealthChecks
    details: dict[str, str] = Field(description="Each component's state in words.")
    timestamp: datetime


class OldReady(Schema):
    """GET /api/v1/queue/health/ready, the old service's readiness probe."""

    status: Literal["ready", "not ready"]
    detail: str
    timestamp: datetime
