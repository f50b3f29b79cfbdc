"""The `queue-service` command line: one parser for every subcommand, and `main`.

Each subcommand's handler lives in the module of its concern (`app.cli.*`);
`main` reads the settings, configures logging and runs the handler.
"""

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from app.cli.jobs import cmd_cancel, cmd_enqueue, cmd_pause, cmd_retention, cmd_retry
from app.cli.migrate import VERSION, cmd_migrate
from app.cli.ops import cmd_prometheus_rules
from app.cli.serve import cmd_dev, cmd_serve
from app.cli.tokens import cmd_token
from app.cli.worker import cmd_worker
from app.db.job_type_rows import JobTypeRowRefused
from app.db.migrations import MigrationError
from app.domain.errors import ServiceError
from app.domain.job_type_plugins import JobTypePluginError, load_job_type_plugins
from app.observability import tracing
from app.observability.logging import configure_logging
from app.settings import UnsafeSettingsError, load_settings

logger = logging.getLogger(__name__)

DESCRIPTION = """The `queue-service` command: the composition root.

The one package of `app` that may import `workers`, to start them. Settings are
read here and handed down as plain values.
"""


# The processes that trace when the OTEL_* variables ask, by the service name
# their spans carry unless OTEL_SERVICE_NAME names one.
TRACED = {
    "serve": "queue-service-api",
    "worker": "queue-service-worker",
    "dev": "queue-service",
}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="queue-service", description=DESCRIPTION)
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

    ops_cmd = commands.add_parser("ops", help="write files for operations tools")
    ops_commands = ops_cmd.add_subparsers(dest="ops_command", required=True)
    rules_cmd = ops_commands.add_parser(
        "prometheus-rules",
        help="render the Prometheus alert rules from the monitor's thresholds "
        "(queue.queues of DATABASE_URL, ALERT_THRESHOLD_*)",
    )
    rules_cmd.add_argument(
        "--output", metavar="PATH", help="write the rules here (default: stdout)"
    )
    rules_cmd.set_defaults(handler=cmd_prometheus_rules)

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
    except UnsafeSettingsError as exc:
        print(f"queue-service: {exc}", file=sys.stderr)
        return 2
    json_lines = (
        settings.log.format or ("text" if settings.env == "dev" else "json")
    ) == "json"
    configure_logging(level=settings.log.level, json_lines=json_lines)
    try:
        # Every command sees the same catalogue: the plugins' types, once.
        for plugin in load_job_type_plugins():
            logger.info(
                "Job types loaded from a plugin.",
                extra={
                    "action": "job_type_plugin_loaded",
                    "plugin": plugin.describe(),
                    "job_types": [t.name for t in plugin.plugin.job_types],
                },
            )
    except JobTypePluginError as exc:
        print(f"queue-service: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command in TRACED:
            tracing.configure_from_env(os.environ, service_name=TRACED[args.command])
    except tracing.TracingUnavailable as exc:
        print(f"queue-service: {exc}", file=sys.stderr)
        return 2
    try:
        handler = args.handler
        return int(handler(args, settings))
    except (ServiceError, MigrationError, JobTypeRowRefused) as exc:
        print(f"queue-service: {exc}", file=sys.stderr)
        return 1
    except JobTypePluginError as exc:
        # A plugin's task body the worker cannot import.
        print(f"queue-service: {exc}", file=sys.stderr)
        return 2
    except UnsafeSettingsError as exc:
        # A command that needs safe settings (serve: the JWT secret) refuses
        # them with the reason, not a traceback.
        print(f"queue-service: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
