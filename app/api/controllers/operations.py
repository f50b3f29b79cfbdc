"""/api/v1/queue/rate-limits, /metrics and /alerts: operators' endpoints."""

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from app.api.auth import allow
from app.api.context import AppSettings, AuthRequest, Conn, audit_context
from app.api.controllers.queues import summary_body
from app.api.schemas import (
    Alert,
    AlertTest,
    EmergencyStop,
    FailureByType,
    FailureReport,
    FailuresPerHour,
    MetricsSummary,
    OutcomeCount,
    QueueCounts,
    RateLimitCheck,
    RateLimitsChanged,
    RateLimitStatus,
    ThroughputPoint,
    TopError,
    TrendPoint,
)
from app.domain.access import OBSERVERS, Role
from app.observability.metrics import CONTENT_TYPE_LATEST
from app.services import alerts as alert_service
from app.services import metrics as metric_service
from app.services import monitoring
from app.services import rate_limits as rate_limit_service
from app.services.database import Connection

Severity = Literal["critical", "warning", "info"]


def _bucket(row: rate_limit_service.RateLimitRow) -> RateLimitStatus:
    return RateLimitStatus(
        key=row.name,
        group=row.group_name,
        ratePerSecond=row.rate_per_s,
        burst=row.burst,
        maxConcurrent=row.max_concurrent,
        cooldownS=row.cooldown_s,
        tokens=round(row.tokens, 3),
        activeLeases=row.active_leases,
        paused=row.paused,
        holdUntil=row.hold_until,
        updatedAt=row.updated_at,
        breakerState=row.breaker_state,
        breakerRetryAt=row.breaker_retry_at,
    )


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
        createdAt=row.created_at,
        acknowledged=row.acknowledged_at is not None,
        acknowledgedBy=row.acknowledged_by,
        acknowledgedAt=row.acknowledged_at,
    )


async def _set_stopped(
    request: AuthRequest, conn: Connection, data: EmergencyStop | None, *, stopped: bool
) -> RateLimitsChanged:
    given = data or EmergencyStop()
    changed = await rate_limit_service.set_stopped(
        conn,
        stopped=stopped,
        names=given.services,
        reason=given.reason,
        audit=audit_context(request),
    )
    return RateLimitsChanged(services=changed, paused=stopped)


class RateLimitController(Controller):
    """Provider buckets, from queue.rate_limits."""

    path = "/api/v1/queue/rate-limits"
    tags = ["rate-limits"]  # noqa: RUF012 - Litestar's class-level configuration

    @get(
        "/status/{key:str}",
        operation_id="getRateLimitStatus",
        guards=[allow(*OBSERVERS)],
    )
    async def get_status(self, conn: Conn, key: FromPath[str]) -> RateLimitStatus:
        """The bucket as of now."""
        return _bucket(await rate_limit_service.status(conn, key))

    @get(
        "/check/{service:str}",
        operation_id="checkRateLimit",
        guards=[allow(*OBSERVERS)],
    )
    async def check(self, conn: Conn, service: FromPath[str]) -> RateLimitCheck:
        """Whether a call could go now; takes no token."""
        row, verdict = await rate_limit_service.check(conn, service)
        return RateLimitCheck(
            service=service,
            allowed=verdict.allowed,
            reason=verdict.reason,
            waitMs=verdict.wait_ms,
            tokens=round(row.tokens, 3),
        )

    @post(
        "/reset/{service:str}",
        operation_id="resetRateLimit",
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def reset(
        self, request: AuthRequest, conn: Conn, service: FromPath[str]
    ) -> RateLimitStatus:
        """Refill the bucket and lift its Retry-After hold."""
        return _bucket(
            await rate_limit_service.reset(conn, service, audit=audit_context(request))
        )

    @post(
        "/emergency-stop",
        operation_id="emergencyStop",
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def emergency_stop(
        self,
        request: AuthRequest,
        conn: Conn,
        data: JSONBody[EmergencyStop | None] = None,
    ) -> RateLimitsChanged:
        """Stop every call to the named providers (all when none are named)."""
        return await _set_stopped(request, conn, data, stopped=True)

    @post(
        "/resume",
        operation_id="resumeRateLimits",
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def resume(
        self,
        request: AuthRequest,
        conn: Conn,
        data: JSONBody[EmergencyStop | None] = None,
    ) -> RateLimitsChanged:
        """Lift an emergency stop."""
        return await _set_stopped(request, conn, data, stopped=False)


class MetricsController(Controller):
    """Metrics from the database."""

    path = "/api/v1/queue/metrics"
    tags = ["metrics"]  # noqa: RUF012 - Litestar's class-level configuration
    guards = [allow(*OBSERVERS)]  # noqa: RUF012

    @get(
        "/prometheus",
        operation_id="getPrometheusMetrics",
        media_type=CONTENT_TYPE_LATEST,
    )
    async def prometheus(self, conn: Conn, settings: AppSettings) -> Response[bytes]:
        """Prometheus exposition (the same as /metrics)."""
        return Response(
            await monitoring.scrape(
                conn, stalled_after_s=settings.worker.stalled_after_s
            ),
            media_type=CONTENT_TYPE_LATEST,
        )

    @get("/summary", operation_id="getMetricsSummary")
    async def summary(
        self, conn: Conn, hours: Annotated[int, QueryParameter(ge=1, le=24 * 30)] = 24
    ) -> MetricsSummary:
        """Every queue's counts now and the attempts per outcome of the last hours."""
        found = await metric_service.summary(conn, hours=hours)
        queues = [summary_body(r) for r in found.queues]
        totals = QueueCounts(
            waiting=sum(q.counts.waiting for q in queues),
            delayed=sum(q.counts.delayed for q in queues),
            active=sum(q.counts.active for q in queues),
            completedLastHour=sum(q.counts.completedLastHour for q in queues),
            failedLastHour=sum(q.counts.failedLastHour for q in queues),
        )
        return MetricsSummary(
            generatedAt=datetime.now(UTC),
            since=found.since,
            queues=queues,
            totals=totals,
            outcomes=[
                OutcomeCount(queue=o.queue, status=o.status, attempts=o.attempts)
                for o in found.outcomes
            ],
            trend=[
                TrendPoint(
                    queue=p.queue,
                    hour=p.hour,
                    waiting=p.waiting,
                    active=p.running,
                    oldestWaitingAgeS=p.oldest_waiting_age_s,
                    failedLastHour=p.failed_last_hour,
                )
                for p in found.trend
            ],
        )

    @get("/throughput", operation_id="getThroughput")
    async def throughput(
        self,
        conn: Conn,
        minutes: Annotated[int, QueryParameter(ge=1, le=24 * 60)] = 60,
        queue: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> list[ThroughputPoint]:
        """Succeeded and failed attempts per queue and minute."""
        points = await metric_service.throughput(conn, minutes=minutes, queue=queue)
        return [
            ThroughputPoint(
                queue=p.queue, minute=p.minute, completed=p.completed, failed=p.failed
            )
            for p in points
        ]

    @get("/failures", operation_id="getFailures")
    async def failures(
        self, conn: Conn, hours: Annotated[int, QueryParameter(ge=1, le=24 * 30)] = 24
    ) -> FailureReport:
        """Failures per job type, the most frequent errors, and failures per hour."""
        found = await metric_service.failures(conn, hours=hours)
        return FailureReport(
            since=found.since,
            total=sum(t.failed for t in found.by_type),
            byType=[
                FailureByType(
                    queue=t.queue,
                    jobType=t.job_type,
                    failed=t.failed,
                    retried=t.retried,
                )
                for t in found.by_type
            ],
            topErrors=[
                TopError(
                    errorType=e.error_type, message=e.message, occurrences=e.occurrences
                )
                for e in found.top_errors
            ],
            trend=[
                FailuresPerHour(hour=h.hour, failed=h.failed) for h in found.per_hour
            ],
        )


class AlertController(Controller):
    """Alerts from queue.alert_history."""

    path = "/api/v1/queue/alerts"
    tags = ["alerts"]  # noqa: RUF012 - Litestar's class-level configuration
    guards = [allow(*OBSERVERS)]  # noqa: RUF012

    @get("/", operation_id="listAlerts")
    async def list_alerts(
        self,
        conn: Conn,
        severity: Annotated[Severity | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> list[Alert]:
        """The newest alerts, optionally of one severity."""
        return [
            _alert(row)
            for row in await alert_service.list_alerts(
                conn, severity=severity, limit=limit
            )
        ]

    @post(
        "/{alert_id:int}/acknowledge",
        operation_id="acknowledgeAlert",
        status_code=HTTP_200_OK,
    )
    async def acknowledge(
        self, request: AuthRequest, conn: Conn, alert_id: FromPath[int]
    ) -> Alert:
        """Record who acknowledged the alert, and when."""
        return _alert(
            await alert_service.acknowledge(
                conn, alert_id, audit=audit_context(request)
            )
        )

    @post(
        "/test",
        operation_id="testAlert",
        guards=[allow(Role.ADMIN)],
        status_code=HTTP_201_CREATED,
    )
    async def send_test(
        self,
        request: AuthRequest,
        conn: Conn,
        settings: AppSettings,
        data: JSONBody[AlertTest | None] = None,
    ) -> Alert:
        """Send a test alert on a channel and record it (SMS and voice go out from a worker)."""
        given = data or AlertTest()
        row = await alert_service.send_test(
            conn,
            severity=given.severity,
            channel=given.channel,
            audit=audit_context(request),
            providers=settings.providers,
        )
        return _alert(row)
