"""`queue-service migrate`: procrastinate's schema and ours, in their phases."""

import argparse
import importlib.metadata

from app.cli.connection import require_dsn
from app.db.migrations import MigrationReport, app_line, migrate
from app.queue import procrastinate_line
from app.settings import Settings

VERSION = importlib.metadata.version("queue-service")


def run_migrations(dsn: str, *, phase: str | None = None) -> MigrationReport:
    """Apply procrastinate's schema and ours to `dsn`."""
    phases = ("pre", "post") if phase is None else (phase,)
    return migrate(dsn, [procrastinate_line(), app_line(VERSION)], phases=phases)  # type: ignore[arg-type]


def print_report(report: MigrationReport) -> None:
    """Print what a run baselined and applied, or that nothing changed."""
    if report.baselined:
        lines = sorted({line for line, _ in report.baselined})
        print(f"baselined: {', '.join(lines)} ({len(report.baselined)} files)")
    for line, name in report.applied:
        print(f"applied: {line}/{name}")
    if not report.changed:
        print("schema is up to date")


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations."""
    print_report(run_migrations(require_dsn(settings), phase=args.phase))
    return 0
