"""Bodies of /alerts: history, acknowledge, test.

The old service's alert fields are snake_case on the wire (`alert_type`,
`created_at`), as it answered them; each is named by an explicit alias.
"""

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, computed_field

from app.api.schemas.base import Schema


class Alert(Schema):
    """An alert."""

    id: int
    severity: str
    type: str
    queue: str | None
    value: float | None
    threshold: float | None
    message: str
    channels: dict[str, Any]
    created_at: datetime
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_at: datetime | None

    @computed_field(alias="alert_type", description="type, by its old name.")
    def alert_type(self) -> str:
        """What the alert is about."""
        return self.type

    @computed_field(alias="queue_name", description="queue, by its old name.")
    def queue_name(self) -> str | None:
        """The queue the alert is about."""
        return self.queue

    @computed_field(alias="metric_value", description="value, by its old name.")
    def metric_value(self) -> float | None:
        """The value that passed the threshold."""
        return self.value

    @computed_field(alias="threshold_value", description="threshold, by its old name.")
    def threshold_value(self) -> float | None:
        """The threshold passed."""
        return self.threshold

    @computed_field(alias="created_at", description="createdAt, by its old name.")
    def old_created_at(self) -> datetime:
        """When the alert was raised."""
        return self.created_at


class AcknowledgedAlert(Alert):
    """The alert acknowledged, with the old service's answer."""

    @computed_field(description="id, as the old service's string.")
    def alert_id(self) -> str:
        """The alert's id."""
        return str(self.id)

    @computed_field(description="The old service's word.")
    def status(self) -> Literal["acknowledged"]:
        """What was done."""
        return "acknowledged"


class AlertTest(Schema):
    """POST /alerts/test."""

    severity: Literal["critical", "warning", "info"] = "info"
    channel: Literal["log", "sms", "voice", "phone"] = Field(
        default="log", description="phone: the old service's name for voice."
    )


class SentTestAlert(Alert):
    """The test alert recorded, with the old service's answer."""

    status: Literal["sent", "queued"] = Field(
        description="sent (log), or queued for a worker to send (sms, voice)."
    )
    channel: str = Field(description="The channel asked for, as given.")


class AlertList(Schema):
    """GET /alerts: the newest alerts, wrapped as the old service answered them."""

    alerts: list[Alert]
    count: int
