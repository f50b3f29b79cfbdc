"""The `queue-service` command: the composition root.

The one module of `app` that may import `workers`, to start them. Settings are
read here and handed down as plain values.
"""

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from psycopg import AsyncConnection

from app.db import Connection
from app.db.embedded import EmbeddedPostgres
from app.db.migrations import MigrationError, MigrationReport, app_line, migrate
from app.domain.errors import ServiceError
from app.observability.logging import configure_logging
from app.queue import procrastinate_line
from app.settings import (
    Settings,
    UnknownVariablesError,
    UnsafeSettingsError,
    load_settings,
)

if TYPE_CHECKING:
    from workers.runtime import WorkerConfig

logger = logging.getLogger(__name__)

VERSION = importlib.metadata.version("queue-service")


def run_migrations(dsn: str, *, phase: str | None = None) -> MigrationReport:
    """Apply procrastinate's schema and ours to `dsn`."""
    phases = ("pre", "post") if phase is None else (phase,)
    return migrate(dsn, [procrastinate_line(), app_line(VERSION)], phases=phases)  # type: ignore[arg-type]


def _require_dsn(settings: Settings) -> str:
    if settings.database.url is None:
        raise SystemExit(
            "DATABASE_URL is not set (only `queue-service dev` starts an embedded PostgreSQL)"
        )
    return settings.database.url


def _print_report(report: MigrationReport) -> None:
    if report.baselined:
        lines = sorted({line for line, _ in report.baselined})
        print(f"baselined: {', '.join(lines)} ({len(report.baselined)} files)")
    for line, name in report.applied:
        print(f"applied: {line}/{name}")
    if not report.changed:
        print("schema is up to date")


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations."""
    _print_report(run_migrations(_require_dsn(settings), phase=args.phase))
    return 0


def cmd_enqueue(args: argparse.Namespace, settings: Settings) -> int:
    """Enqueue one job and print its id."""
    from app.services.enqueue import enqueue

    try:
        data = json.loads(args.data)
    except json.JSONDecodeError as exc:
        raise SystemExit(f"JSON is not valid: {exc}") from exc
    run_at = datetime.fromisoformat(args.run_at) if args.run_at else None

    async def go(conn: Connection) -> None:
        result = await enqueue(
            conn,
            queue=args.queue,
            job_type=args.job_type,
            data=data,
            priority=args.priority,
            run_at=run_at,
            idempotency_key=args.idempotency_key,
        )
        print(json.dumps({"job_id": result.job_id, "duplicate": result.duplicate}))

    asyncio.run(_on_connection(_require_dsn(settings), go))
    return 0


def _worker_config(
    settings: Settings, dsn: str, queues: str | None = None
) -> "WorkerConfig":
    from workers.runtime import WorkerConfig

    worker = settings.worker
    return WorkerConfig(
        dsn=dsn,
        queues=queues.split(",") if queues else None,
        poll_interval_s=worker.poll_interval_s,
        shutdown_grace_s=worker.shutdown_grace_s,
        heartbeat_s=worker.heartbeat_s,
        stalled_after_s=worker.stalled_after_s,
        rescue_every_s=worker.rescue_every_s,
        statement_timeout_ms=settings.database.statement_timeout_ms,
        idle_in_transaction_timeout_ms=settings.database.idle_in_transaction_timeout_ms,
        pool_max_size=settings.database.pool_max_size,
        metrics_port=worker.metrics_port + worker.process_index
        if worker.metrics_port
        else 0,
        report_dir=Path(worker.report_dir),
        extra_task_modules=tuple(
            m.strip() for m in worker.extra_task_modules.split(",") if m.strip()
        ),
        providers=settings.providers,
        limits=settings.limits,
        alerts=settings.alerts,
        monitor_every_s=worker.monitor_every_s,
    )


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """Run worker processes."""
    dsn = _require_dsn(settings)
    if args.processes > 1:
        from workers.supervisor import supervise

        return supervise(
            args.processes, ["--queues", args.queues] if args.queues else []
        )
    from workers.runtime import run_worker_process

    asyncio.run(run_worker_process(_worker_config(settings, dsn, args.queues)))
    return 0


async def _on_connection(
    dsn: str, action: Callable[[Connection], Awaitable[None]]
) -> None:
    async with await AsyncConnection.connect(dsn, autocommit=True) as conn:
        await action(conn)


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    """Requeue a failed job, or every failed job of a queue."""
    from app.services.jobs import retry_failed_jobs, retry_job

    if (args.job_id is None) == (args.queue is None) or (
        args.queue is not None and not args.failed
    ):
        raise SystemExit("give either JOB_ID, or --queue QUEUE --failed")

    async def go(conn: Connection) -> None:
        if args.job_id is not None:
            await retry_job(conn, args.job_id)
            print(f"job {args.job_id} requeued")
        else:
            count = await retry_failed_jobs(conn, args.queue)
            print(f"{count} failed job(s) of {args.queue} requeued")

    asyncio.run(_on_connection(_require_dsn(settings), go))
    return 0


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    """Cancel a waiting job or abort a running one."""
    from app.services.jobs import cancel_job

    async def go(conn: Connection) -> None:
        state = await cancel_job(conn, args.job_id)
        print(f"job {args.job_id} {state}")

    asyncio.run(_on_connection(_require_dsn(settings), go))
    return 0


def cmd_pause(args: argparse.Namespace, settings: Settings) -> int:
    """Pause or resume a queue."""
    from app.services.queues import set_paused

    paused = args.command == "pause"

    async def go(conn: Connection) -> None:
        await set_paused(conn, args.queue, paused=paused)
        print(f"queue {args.queue} {'paused' if paused else 'resumed'}")

    asyncio.run(_on_connection(_require_dsn(settings), go))
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Run retention now and print what it deleted (for cron)."""
    from app.services.retention import run_retention

    async def go(conn: Connection) -> None:
        counts = await run_retention(conn, batch_size=args.batch_size)
        print(" ".join(f"{table}={count}" for table, count in counts.items()))

    asyncio.run(_on_connection(_require_dsn(settings), go))
    return 0


@contextlib.contextmanager
def _dev_database(settings: Settings) -> Iterator[str]:
    if settings.database.url is not None:
        yield settings.database.url
        return
    with EmbeddedPostgres() as embedded:
        yield embedded.dsn


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate and run the service on the embedded PostgreSQL (or DATABASE_URL)."""
    del args
    from app.api.auth import issue_token
    from app.domain.access import Role

    with _dev_database(settings) as dsn:
        _print_report(run_migrations(dsn))
        token = issue_token(
            secret=settings.api.jwt_secret.get_secret_value(),
            role=Role.ADMIN,
            sub="dev-admin",
            ttl=timedelta(days=1),
        )
        print(f'database: {dsn}\n  psql "{dsn}"')
        print(
            f"api: http://127.0.0.1:{settings.api.port}/api/v1/queue  (docs: http://127.0.0.1:{settings.api.port}/schema)"
        )
        print(
            f"admin token, valid 24 h (others: queue-service token --role ROLE):\n  export TOKEN={token}"
        )
        print(
            "try:\n  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
            '-d \'{"queue": "background", "type": "analytics-track", "data": {"eventType": "page_view"}}\' '
            f"http://127.0.0.1:{settings.api.port}/api/v1/queue/jobs"
        )
        sys.stdout.flush()
        asyncio.run(_serve_and_work(settings, dsn, host="127.0.0.1"))
    return 0


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to the worker runtime it shares a process with."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install nothing: the caller stops the server through `should_exit`."""
        yield


async def _serve_and_work(settings: Settings, dsn: str, *, host: str) -> None:
    from app.api.app import create_app
    from workers.runtime import run_worker_process

    stop = asyncio.Event()
    # The API opens its own pool, on the same database as the workers (the
    # embedded one's DSN is known only now).
    settings = settings.model_copy(
        update={"database": settings.database.model_copy(update={"url": dsn})}
    )
    server = _QuietServer(
        uvicorn.Config(
            create_app(settings),
            host=host,
            port=settings.api.port,
            log_config=None,
            access_log=False,
        )
    )

    async def stop_server() -> None:
        await stop.wait()
        server.should_exit = True

    await asyncio.gather(
        run_worker_process(_worker_config(settings, dsn), stop=stop),
        server.serve(),
        stop_server(),
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API."""
    _require_dsn(settings)
    settings.check_safe()
    uvicorn.run(
        "app.api.asgi:app",
        factory=True,
        host=args.host,
        port=settings.api.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
    )
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    """Print a bearer token for the configured HS256 secret."""
    from app.api.auth import issue_token
    from app.domain.access import Role

    if settings.api.jwt_public_key_file:
        raise SystemExit(
            "tokens are verified with RS256 (JWT_PUBLIC_KEY_FILE): sign them with your private key"
        )
    print(
        issue_token(
            secret=settings.api.jwt_secret.get_secret_value(),
            role=Role(args.role),
            sub=args.sub,
            venues=[v for v in (args.venues or "").split(",") if v],
            ttl=_duration(args.ttl),
        )
    )
    return 0


def _duration(text: str) -> timedelta:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    number, unit = (text[:-1], text[-1]) if text[-1:] in units else (text, "s")
    if not number.isdigit() or int(number) <= 0:
        raise SystemExit(f"--ttl must look like 3600, 90m, 12h or 7d, got {text!r}")
    return timedelta(seconds=int(number) * units[unit])


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="queue-service", description=__doc__)
    parser.add_argument("--version", action="version", version=VERSION)
    commands = parser.add_subparsers(dest="command", required=True)

    migrate_cmd = commands.add_parser(
        "migrate", help="apply pending migrations (idempotent)"
    )
    migrate_cmd.add_argument("--phase", choices=["pre", "post"], help="only this phase")
    migrate_cmd.set_defaults(handler=cmd_migrate)

    enqueue_cmd = commands.add_parser("enqueue", help="enqueue one job")
    enqueue_cmd.add_argument("queue")
    enqueue_cmd.add_argument("job_type", metavar="TYPE")
    enqueue_cmd.add_argument("data", metavar="JSON")
    enqueue_cmd.add_argument("--idempotency-key")
    enqueue_cmd.add_argument("--run-at", help="ISO 8601 time to run at")
    enqueue_cmd.add_argument("--priority", type=int, help="1-10, higher runs first")
    enqueue_cmd.set_defaults(handler=cmd_enqueue)

    worker_cmd = commands.add_parser("worker", help="run workers")
    worker_cmd.add_argument("--queues", help="comma-separated queues (default: all)")
    worker_cmd.add_argument(
        "--processes", type=int, default=1, help="supervise N worker processes"
    )
    worker_cmd.set_defaults(handler=cmd_worker)

    retry_cmd = commands.add_parser(
        "retry", help="requeue a failed job, or all failed jobs of a queue"
    )
    retry_cmd.add_argument("job_id", metavar="JOB_ID", type=int, nargs="?")
    retry_cmd.add_argument("--queue")
    retry_cmd.add_argument(
        "--failed", action="store_true", help="with --queue: every failed job"
    )
    retry_cmd.set_defaults(handler=cmd_retry)

    cancel_cmd = commands.add_parser(
        "cancel", help="cancel a waiting job or abort a running one"
    )
    cancel_cmd.add_argument("job_id", metavar="JOB_ID", type=int)
    cancel_cmd.set_defaults(handler=cmd_cancel)

    for name, text in (
        ("pause", "stop fetching from a queue"),
        ("resume", "fetch from a paused queue again"),
    ):
        pause_cmd = commands.add_parser(name, help=text)
        pause_cmd.add_argument("queue", metavar="QUEUE")
        pause_cmd.set_defaults(handler=cmd_pause)

    retention_cmd = commands.add_parser(
        "retention", help="delete what retention lets go; prints counts"
    )
    retention_cmd.add_argument("--batch-size", type=int, default=10_000)
    retention_cmd.set_defaults(handler=cmd_retention)

    serve_cmd = commands.add_parser("serve", help="serve the HTTP API")
    serve_cmd.add_argument("--host", default="0.0.0.0", help="interface to listen on")  # noqa: S104 - a server's job
    serve_cmd.add_argument("--workers", type=int, default=1, help="API processes")
    serve_cmd.set_defaults(handler=cmd_serve)

    token_cmd = commands.add_parser(
        "token", help="print a bearer token for the configured secret"
    )
    token_cmd.add_argument(
        "--role", required=True, choices=["admin", "venue_admin", "user", "monitoring"]
    )
    token_cmd.add_argument("--sub", default="cli", help="the token's subject (user id)")
    token_cmd.add_argument("--venues", help="comma-separated venue ids (venue_admin)")
    token_cmd.add_argument("--ttl", default="1h", help="lifetime: 3600, 90m, 12h, 7d")
    token_cmd.set_defaults(handler=cmd_token)

    dev_cmd = commands.add_parser(
        "dev",
        help="migrate and run everything, embedded PostgreSQL if DATABASE_URL is unset",
    )
    dev_cmd.set_defaults(handler=cmd_dev)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(dev=args.command == "dev")
    except (UnknownVariablesError, UnsafeSettingsError) as exc:
        print(f"queue-service: {exc}", file=sys.stderr)
        return 2
    json_lines = (
        settings.log.format or ("text" if settings.env == "dev" else "json")
    ) == "json"
    configure_logging(level=settings.log.level, json_lines=json_lines)
    try:
        handler = args.handler
        return int(handler(args, settings))
    except (ServiceError, MigrationError) as exc:
        print(f"queue-service: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
