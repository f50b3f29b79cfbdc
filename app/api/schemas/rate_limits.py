"""Bodies of /rate-limits: bucket status, check, reset, emergency stop and resume."""

import math
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, computed_field

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


class OldBucketConfig(Schema):
    """A bucket's limits, as the old service named them."""

    max_per_second: float
    max_concurrent: int | None = Field(description="null: no limit on calls in flight.")
    burst_size: int
    cooldown_ms: int


class OldBucketState(Schema):
    """A bucket as of now, as the old service named it."""

    tokens_available: float
    concurrent: int = Field(description="Calls in flight (activeLeases).")
    max_concurrent: int | None = Field(description="null: no limit on calls in flight.")
    last_activity: datetime = Field(
        description="When the bucket's state last changed: a reset, a stop, a 429's hold."
    )
    config: OldBucketConfig


class RateLimitStatusBody(RateLimitStatus):
    """GET /rate-limits/status/:key: the bucket, and under its name its old shape.

    The old service answered `{"<key>": {tokensAvailable, ...}}`; that key is
    the bucket's name, beside our fields (a bucket named like one of them has
    only ours).
    """

    model_config = ConfigDict(extra="allow")

    __pydantic_extra__: dict[str, OldBucketState] = Field(init=False)


class RateLimitReset(RateLimitStatus):
    """The bucket a reset refilled, with the old service's answer."""

    @computed_field(description="key, by its old name.")
    def service(self) -> str:
        """The bucket's name."""
        return self.key

    @computed_field(description="The old service's word.")
    def status(self) -> Literal["reset"]:
        """What was done."""
        return "reset"

    @computed_field(description="The old service's sentence.")
    def message(self) -> str:
        """What was done."""
        return f"Rate limiter for {self.key} has been reset"


class RateLimitCheck(Schema):
    """Whether a call to the provider could go now (no token is taken)."""

    service: str
    allowed: bool
    reason: str | None
    wait_ms: int
    tokens: float

    @computed_field(description="The old service's name: not `allowed`.")
    def rate_limited(self) -> bool:
        """Whether a call would wait."""
        return not self.allowed

    @computed_field(description="waitMs, by its old name.")
    def wait_time_ms(self) -> int:
        """How long a call would wait."""
        return self.wait_ms

    @computed_field(description="waitMs in whole seconds, rounded up.")
    def wait_time_seconds(self) -> int:
        """How long a call would wait, in seconds."""
        return math.ceil(self.wait_ms / 1000)


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
    message: str = Field(description="The old service's sentence.")

    @computed_field(description="The old service's word for `paused`.")
    def status(self) -> Literal["stopped", "resumed"]:
        """Stopped or resumed."""
        return "stopped" if self.paused else "resumed"
