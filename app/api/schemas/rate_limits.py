"""Bodies of /rate-limits: bucket status, check, reset, emergency stop and resume."""

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.api.schemas.base import Schema


class RateLimitStatus(Schema):
    """A provider bucket as of now."""

    key: str
    group: str | None
    rate_per_second: float
    effective_rate_per_second: float = Field(
        description="The rate now: lower for a while after the provider answered 429."
    )
    burst: int
    max_concurrent: int | None
    cooldown_s: float
    tokens: float
    active_leases: int
    paused: bool
    hold_until: datetime | None
    updated_at: datetime
    breaker_state: Literal["closed", "open", "half_open"] | None = Field(
        default=None, description="The provider's circuit breaker; none for internal."
    )
    breaker_retry_at: datetime | None = Field(
        default=None, description="When an open breaker lets a probe call through."
    )


class RateLimitCheck(Schema):
    """Whether a call to the provider could go now (no token is taken)."""

    service: str
    allowed: bool
    reason: str | None
    wait_ms: int
    tokens: float


class EmergencyStop(Schema):
    """POST /rate-limits/emergency-stop and /resume."""

    services: list[str] | None = Field(
        default=None, description="Buckets to stop; all when absent."
    )
    reason: str | None = Field(default=None, max_length=500)


class RateLimitsChanged(Schema):
    """Buckets an emergency stop or resume changed."""

    services: list[str]
    paused: bool
