"""Background job types: analytics events, cleanup of old data, reports.

All three work on the service's own database and files; none calls out.
"""

import asyncio
import csv
import dataclasses
import io
import json
import os
import re
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from procrastinate.job_context import JobContext

from app.db.queries import tasks as queries
from app.domain.errors import PermanentTaskError
from app.domain.payloads import AnalyticsTrack, CleanupOldData, GenerateReport
from workers.attempts import job_id_of
from workers.deps import DEPS_KEY, WorkerDeps
from workers.progress import report_progress
from workers.tasks.payload import load_payload
from workers.tasks.registry import task_body

REPORT_MAX_ROWS = 100_000
DEFAULT_CLEANUP_DAYS = 30
DEFAULT_REPORT_PERIOD = timedelta(days=1)


def _deps(context: JobContext) -> WorkerDeps:
    deps: WorkerDeps = context.additional_context[DEPS_KEY]
    return deps


def _enqueued_at(meta: Any) -> datetime | None:
    if isinstance(meta, dict) and isinstance(meta.get("enqueued_at"), str):
        return datetime.fromisoformat(meta["enqueued_at"])
    return None


@task_body("analytics-track")
async def analytics_track(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Record the event in `queue.analytics_events`, with the job's completion.

    The row is written in the transaction that completes the job, in one
    INSERT per batch of completions: recorded exactly when the job succeeds,
    at no commit of its own. Keyed by job id, so a rescued job that already
    recorded it records nothing more. Defers nothing.
    """
    payload = load_payload(AnalyticsTrack, data)
    occurred_at = payload.timestamp or _enqueued_at(meta) or datetime.now(UTC)
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)
    _deps(context).completion_rows.add_analytics(
        queries.AnalyticsEvent(
            job_id=job_id_of(context.job),
            event_type=payload.event_type,
            user_id=payload.user_id,
            venue_id=payload.venue_id,
            properties=payload.properties or {},
            occurred_at=occurred_at,
        )
    )
    return {"eventType": payload.event_type, "occurredAt": occurred_at.isoformat()}


@task_body("cleanup-old-data")
async def cleanup_old_data(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, int]:
    """Delete what the service owns past `olderThanDays` (default 30).

    Targets: outcomes whose job is gone, idempotency keys whose job no longer
    waits or runs, and report files. Safe to retry (deleting twice deletes
    nothing more). Returns the count per target. Defers nothing.
    """
    del meta
    payload = load_payload(CleanupOldData, data)
    before = datetime.now(UTC) - timedelta(
        days=payload.older_than_days or DEFAULT_CLEANUP_DAYS
    )
    deps = _deps(context)
    counts: dict[str, int] = {}
    async with deps.pool.connection() as conn:
        if payload.target in ("all", "outcomes"):
            counts["outcomes"] = await queries.delete_orphan_outcomes(
                conn, before=before
            )
        if payload.target in ("all", "idempotency_keys"):
            counts["idempotencyKeys"] = await queries.delete_idle_idempotency_keys(
                conn, before=before
            )
    if payload.target in ("all", "reports"):
        counts["reports"] = await asyncio.to_thread(
            _delete_reports_before, deps.report_dir, before
        )
    return counts


def _delete_reports_before(report_dir: Path, before: datetime) -> int:
    if not report_dir.is_dir():
        return 0
    cutoff = before.timestamp()
    deleted = 0
    for path in report_dir.iterdir():
        if (
            path.is_file()
            and path.suffix in (".csv", ".json")
            and path.stat().st_mtime < cutoff
        ):
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


@task_body("generate-report")
async def generate_report(
    context: JobContext, data: Any, meta: Any = None
) -> dict[str, Any]:
    """Write a CSV or JSON report over the service's own data; return its path.

    Report types: "jobs" (jobs enqueued in the period), "failures" (jobs that
    failed in it), "throughput" (attempts per queue, hour and outcome). The
    period defaults to the last 24 hours. Safe to retry: the file is named
    after the job and written atomically. Defers nothing.
    """
    del meta
    payload = load_payload(GenerateReport, data)
    end = payload.period_end or datetime.now(UTC)
    start = payload.period_start or end - DEFAULT_REPORT_PERIOD
    deps = _deps(context)
    window = queries.ReportWindow(
        queue=payload.queue, start=start, end=end, max_rows=REPORT_MAX_ROWS
    )
    await report_progress(context, 0, f"reading {payload.report_type}")
    async with deps.pool.connection() as conn:
        if payload.report_type == "jobs":
            rows: Sequence[Any] = await queries.report_jobs(conn, window=window)
        elif payload.report_type == "failures":
            rows = await queries.report_failures(conn, window=window)
        else:
            rows = await queries.report_throughput(conn, window=window)
    records = [dataclasses.asdict(row) for row in rows]
    await report_progress(context, 50, f"writing {len(records)} rows")
    path = report_path(
        deps.report_dir,
        payload.report_type,
        payload.queue,
        context.job.id,
        payload.format,
    )
    await asyncio.to_thread(_write_atomically, path, _render(records, payload.format))
    await report_progress(context, 100, f"wrote {len(records)} rows")
    return {
        "path": str(path),
        "format": payload.format,
        "rows": len(records),
        "truncated": len(records) == REPORT_MAX_ROWS,
        "periodStart": start.isoformat(),
        "periodEnd": end.isoformat(),
    }


def report_path(
    report_dir: Path, report_type: str, queue: str | None, job_id: int | None, fmt: str
) -> Path:
    """Return where a report goes: a name of our own, always directly in `report_dir`.

    The payload model already limits the queue to a safe name; the name is
    made of a slug all the same, and checked to stay in the directory, so a
    payload that reached here another way cannot write elsewhere.
    """
    slug = re.sub(r"[^a-z0-9_-]+", "-", (queue or "all").lower()).strip("-")[:64]
    path = report_dir / f"{report_type}-{slug or 'all'}-{job_id}.{fmt}"
    if path.resolve().parent != report_dir.resolve():
        raise PermanentTaskError(
            f"report name {path.name!r} leaves the report directory"
        )
    return path


def _render(records: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(records, default=_json_value, indent=2)
    out = io.StringIO()
    if records:
        writer = csv.DictWriter(out, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(
            {key: _csv_value(value) for key, value in record.items()}
            for record in records
        )
    return out.getvalue()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a report")


def _csv_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)
