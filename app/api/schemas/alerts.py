"""Bodies of /alerts: history, acknowledge, test."""

from datetime import datetime
from typing import Any, Literal

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


class AlertTest(Schema):
    """POST /alerts/test."""

    severity: Literal["critical", "warning", "info"] = "info"
    channel: Literal["log", "sms", "voice"] = "log"
