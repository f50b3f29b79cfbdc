"""/api/v1/queue/alerts: history, acknowledge, test (`queue.alert_history`)."""

from typing import Annotated, Literal

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from app.api.auth import allow
from app.api.context import AppSettings, AuthRequest, Conn, audit_context
from app.api.documented import OptionalBodyOperation, problems
from app.api.schemas.alerts import (
    AcknowledgedAlert,
    Alert,
    AlertList,
    AlertTest,
    SentTestAlert,
)
from app.domain.access import OBSERVERS, Role
from app.services import alerts as alert_service

Severity = Literal["critical", "warning", "info"]


def _alert(row: alert_service.AlertRow) -> Alert:
    return Alert(
        id=row.id,
        severity=row.severity,
        type=row.type,
        queue=row.queue_name,
        value=row.value,
        threshold=row.threshold,
        message=row.message,
        channels=row.channels,
        created_at=row.created_at,
        acknowledged=row.acknowledged_at is not None,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
    )


class AlertController(Controller):
    """Alerts from queue.alert_history."""

    path = "/api/v1/queue/alerts"
    tags = ["alerts"]  # noqa: RUF012 - Litestar's class-level configuration
    guards = [allow(*OBSERVERS)]  # noqa: RUF012

    @get(
        "/",
        operation_id="listAlerts",
        responses=problems(),
    )
    async def list_alerts(
        self,
        conn: Conn,
        severity: Annotated[Severity | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> AlertList:
        """The newest alerts, optionally of one severity (`alerts`), and how many."""
        rows = await alert_service.list_alerts(conn, severity=severity, limit=limit)
        return AlertList(alerts=[_alert(row) for row in rows], count=len(rows))

    @post(
        "/{alert_id:int}/acknowledge",
        operation_id="acknowledgeAlert",
        responses=problems(404),
        status_code=HTTP_200_OK,
    )
    async def acknowledge(
        self, request: AuthRequest, conn: Conn, alert_id: FromPath[int]
    ) -> AcknowledgedAlert:
        """Record who acknowledged the alert, and when."""
        row = await alert_service.acknowledge(
            conn, alert_id, audit=audit_context(request)
        )
        return AcknowledgedAlert(**dict(_alert(row)))

    @post(
        "/test",
        operation_id="testAlert",
        operation_class=OptionalBodyOperation,
        responses=problems(),
        guards=[allow(Role.ADMIN)],
        # 200, as the old service answered: its clients check for it.
        status_code=HTTP_200_OK,
    )
    async def send_test(
        self,
        request: AuthRequest,
        conn: Conn,
        settings: AppSettings,
        data: JSONBody[AlertTest | None] = None,
    ) -> SentTestAlert:
        """Send a test alert on a channel and record it (SMS and voice go out from a worker)."""
        given = data or AlertTest()
        # The old service called its voice channel "phone".
        channel = "voice" if given.channel == "phone" else given.channel
        row = await alert_service.send_test(
            conn,
            severity=given.severity,
            channel=channel,
            audit=audit_context(request),
            providers=settings.providers,
        )
        return SentTestAlert(
            **dict(_alert(row)),
            status="sent" if row.channels.get(channel) == "sent" else "queued",
            channel=given.channel,
        )
