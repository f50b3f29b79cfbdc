"""/api/v1/queue/metrics: Prometheus, summary, throughput and failures, from the database."""

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, get
from litestar.params import QueryParameter

from app.api.auth import allow
from app.api.context import AppSettings, Conn
from app.api.controllers.queues import summary_body
from app.api.documented import problems
from app.api.schemas.metrics import (
    AlertCount,
    FailureByType,
    FailureReport,
    FailuresPerHour,
    MetricsSummary,
    OldFailureTrend,
    OldTopFailure,
    OutcomeCount,
    SummaryQueue,
    ThroughputPoint,
    ThroughputReport,
    TopError,
    TrendPoint,
)
from app.api.schemas.queues import QueueCounts
from app.domain.access import OBSERVERS
from app.observability.metrics import CONTENT_TYPE_LATEST
from app.services import metrics as metric_service
from app.services import monitoring


def _summary_queue(
    row: metric_service.OverviewRow, hour: metric_service.QueueHour | None
) -> SummaryQueue:
    return SummaryQueue(
        **dict(summary_body(row)),
        avg_waiting=hour.avg_waiting if hour else None,
        max_waiting=hour.max_waiting if hour else None,
        avg_active=hour.avg_active if hour else None,
        avg_failed=hour.avg_failed if hour else None,
    )


class MetricsController(Controller):
    """Metrics from the database."""

    path = "/api/v1/queue/metrics"
    tags = ["metrics"]  # noqa: RUF012 - Litestar's class-level configuration
    guards = [allow(*OBSERVERS)]  # noqa: RUF012

    @get(
        "/prometheus",
        operation_id="getPrometheusMetrics",
        responses=problems(),
        media_type=CONTENT_TYPE_LATEST,
    )
    async def prometheus(self, conn: Conn, settings: AppSettings) -> Response[bytes]:
        """Prometheus exposition: /metrics, with the old counters summed over every process."""
        return Response(
            await monitoring.scrape_old_path(
                conn, stalled_after_s=settings.worker.stalled_after_s
            ),
            media_type=CONTENT_TYPE_LATEST,
        )

    @get(
        "/summary",
        operation_id="getMetricsSummary",
        responses=problems(),
    )
    async def summary(
        self, conn: Conn, hours: Annotated[int, QueryParameter(ge=1, le=24 * 30)] = 24
    ) -> MetricsSummary:
        """Every queue's counts now and the attempts per outcome of the last hours."""
        found = await metric_service.summary(conn, hours=hours)
        queues = [_summary_queue(r, found.last_hour.get(r.queue)) for r in found.queues]
        totals = QueueCounts(
            waiting=sum(q.counts.waiting for q in queues),
            delayed=sum(q.counts.delayed for q in queues),
            active=sum(q.counts.active for q in queues),
            completed_last_hour=sum(q.counts.completed_last_hour for q in queues),
            failed_last_hour=sum(q.counts.failed_last_hour for q in queues),
        )
        return MetricsSummary(
            generated_at=datetime.now(UTC),
            alerts=[
                AlertCount(severity=severity, count=count)
                for severity, count in sorted(found.alerts_last_hour.items())
            ],
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
                    oldest_waiting_age_s=p.oldest_waiting_age_s,
                    failed_last_hour=p.failed_last_hour,
                )
                for p in found.trend
            ],
        )

    @get(
        "/throughput",
        operation_id="getThroughput",
        responses=problems(),
    )
    async def throughput(
        self,
        conn: Conn,
        minutes: Annotated[int, QueryParameter(ge=1, le=24 * 60)] = 60,
        queue: Annotated[str | None, QueryParameter(max_length=64)] = None,
    ) -> ThroughputReport:
        """Succeeded and failed attempts per queue and minute (`throughput`), and when."""
        points = await metric_service.throughput(conn, minutes=minutes, queue=queue)
        return ThroughputReport(
            throughput=[
                ThroughputPoint(
                    queue=p.queue,
                    minute=p.minute,
                    completed=p.completed,
                    failed=p.failed,
                )
                for p in points
            ],
            timestamp=datetime.now(UTC),
        )

    @get(
        "/failures",
        operation_id="getFailures",
        responses=problems(),
    )
    async def failures(
        self, conn: Conn, hours: Annotated[int, QueryParameter(ge=1, le=24 * 30)] = 24
    ) -> FailureReport:
        """Failures per job type, the most frequent errors, and failures per hour."""
        found = await metric_service.failures(conn, hours=hours)
        return FailureReport(
            since=found.since,
            total=sum(t.failed for t in found.by_type),
            by_type=[
                FailureByType(
                    queue=t.queue,
                    job_type=t.job_type,
                    failed=t.failed,
                    retried=t.retried,
                )
                for t in found.by_type
            ],
            top_errors=[
                TopError(
                    error_type=e.error_type,
                    message=e.message,
                    occurrences=e.occurrences,
                )
                for e in found.top_errors
            ],
            trend=[
                FailuresPerHour(hour=h.hour, failed=h.failed) for h in found.per_hour
            ],
            trends=[
                OldFailureTrend(queue_name=h.queue, hour=h.hour, avg_failures=h.failed)
                for h in found.dead_letter_hours
            ],
            top_failures=[
                OldTopFailure(
                    queue_name=t.queue,
                    job_type=t.job_type,
                    count=t.count,
                    last_failure=t.last_failure,
                )
                for t in found.dead_letter_types
            ],
            timestamp=datetime.now(UTC),
        )
