"""`python -m bench enqueue|drain|http|metrics|overview|console|sql|providers|keys`: run one benchmark.

Each runs in a scratch database beside `DATABASE_URL`'s (read as the service
reads it) and prints its table. The options and defaults are those the
`queue-service bench` subcommand had.
"""

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from app.db.migrations import MigrationError
from app.domain.errors import ServiceError
from app.observability.logging import configure_logging
from app.settings import UnsafeSettingsError, load_settings

Runner = Callable[[argparse.Namespace, str], None]


def run_enqueue(args: argparse.Namespace, dsn: str) -> None:
    """Enqueue throughput vs raw procrastinate."""
    from bench.enqueue import run_enqueue_bench

    asyncio.run(run_enqueue_bench(dsn, jobs=args.jobs, single=args.single))


def run_http(args: argparse.Namespace, dsn: str) -> None:
    """POST /jobs from 50 connections for 10 s."""
    from bench.http import run_http_bench

    run_http_bench(dsn, api_workers=args.api_workers)


def run_drain(args: argparse.Namespace, dsn: str) -> None:
    """Drain rate, CPU per job and latency vs raw procrastinate (and graphile-worker)."""
    from bench.drain import DrainOptions, run_drain_bench

    run_drain_bench(
        dsn,
        DrainOptions(
            jobs=args.jobs,
            kind=args.kind,
            best_concurrency=args.best_concurrency,
            raw=args.raw,
            graphile=args.graphile,
            backlog=args.backlog,
            runs=args.runs,
        ),
    )


def run_overview(args: argparse.Namespace, dsn: str) -> None:
    """Time queue.overview over a large history."""
    from bench.overview import run_overview_bench

    run_overview_bench(dsn, finished=args.finished, waiting=args.waiting)


def run_console(args: argparse.Namespace, dsn: str) -> None:
    """Time the console's pages over a large history."""
    from bench.console import run_console_bench

    run_console_bench(dsn, finished=args.finished, waiting=args.waiting)


def run_metrics(args: argparse.Namespace, dsn: str) -> None:
    """Time the metrics endpoints over 30 days of snapshots."""
    from bench.metrics import run_metrics_bench

    run_metrics_bench(dsn, days=args.days, outcomes=args.outcomes)


def run_sql(args: argparse.Namespace, dsn: str) -> None:
    """Claim cost by backlog, completion cost by batch."""
    from bench.sql_costs import run_sql_costs_bench

    run_sql_costs_bench(dsn, backlogs=args.backlogs, batches=args.batches)


def run_providers(args: argparse.Namespace, dsn: str) -> None:
    """send-email and send-sms through the gate to local fake providers."""
    from bench.providers import run_providers_bench

    run_providers_bench(dsn, jobs=args.jobs, processes=args.processes)


def run_keys(args: argparse.Namespace, dsn: str) -> None:
    """A per-key limit with fair sharing drained by our workers, beside the plain drain."""
    from bench.keys import KeysOptions, run_keys_bench

    run_keys_bench(
        dsn,
        KeysOptions(
            limit=args.limit,
            processes=args.processes,
        ),
    )


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def _positive(text: str) -> int:
    value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _drain_options(drain: argparse.ArgumentParser) -> None:
    """Add the drain benchmark's options (kept here: `--help` loads no benchmark)."""
    drain.add_argument(
        "--jobs", type=_positive, default=20_000, help="backlog of each drain"
    )
    drain.add_argument(
        "--kind",
        choices=("noop", "analytics-track", "both"),
        default="both",
        help="job kind our workers drain (the peers drain noop only)",
    )
    drain.add_argument(
        "--best-concurrency",
        type=_positive,
        default=50,
        help="queue concurrency of the 'ours, best setting' drain",
    )
    drain.add_argument(
        "--no-raw",
        dest="raw",
        action="store_false",
        help="skip raw procrastinate (drain and latency)",
    )
    drain.add_argument(
        "--graphile",
        type=Path,
        metavar="DIR",
        help="a prepared copy of the peer harness: add graphile-worker's drain",
    )
    drain.add_argument(
        "--backlog",
        type=_positive,
        metavar="N",
        help="one more drain of ours at shipped defaults over N jobs, with memory",
    )
    drain.add_argument(
        "--runs", type=_positive, default=1, help="repeat each drain; print medians"
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every benchmark and its options."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    what = parser.add_subparsers(dest="what", required=True)

    enqueue = what.add_parser("enqueue", help="enqueue throughput vs raw procrastinate")
    enqueue.add_argument("--jobs", type=int, default=20_000, help="jobs per bulk run")
    enqueue.add_argument(
        "--single", type=int, default=2_000, help="jobs of the single-call run"
    )
    enqueue.set_defaults(run=run_enqueue)

    http = what.add_parser("http", help="POST /jobs from 50 connections for 10 s")
    http.add_argument(
        "--api-workers", type=int, default=1, help="API processes to serve with"
    )
    http.set_defaults(run=run_http)

    drain = what.add_parser(
        "drain", help="drain rate, CPU per job and latency vs raw procrastinate"
    )
    _drain_options(drain)
    drain.set_defaults(run=run_drain)

    overview = what.add_parser(
        "overview", help="time queue.overview over a large history"
    )
    overview.add_argument("--finished", type=int, default=1_000_000)
    overview.add_argument("--waiting", type=int, default=10_000)
    overview.set_defaults(run=run_overview)

    console = what.add_parser(
        "console", help="the console's pages over HTTP over a large history"
    )
    console.add_argument("--finished", type=int, default=1_000_000)
    console.add_argument("--waiting", type=int, default=10_000)
    console.set_defaults(run=run_console)

    metrics = what.add_parser(
        "metrics", help="time the metrics endpoints over 30 days of snapshots"
    )
    metrics.add_argument("--days", type=int, default=30)
    metrics.add_argument("--outcomes", type=int, default=1_000_000)
    metrics.set_defaults(run=run_metrics)

    costs = what.add_parser(
        "sql", help="claim cost by backlog, completion cost by batch"
    )
    costs.add_argument(
        "--backlogs",
        type=_sizes,
        default=[2_000, 20_000, 100_000],
        help="waiting jobs to claim from, comma-separated (add 1000000 for the large case)",
    )
    costs.add_argument(
        "--batches",
        type=_sizes,
        default=[50, 200, 1_000],
        help="completion batch sizes",
    )
    costs.set_defaults(run=run_sql)

    providers = what.add_parser(
        "providers", help="send-email and send-sms through the gate to local fakes"
    )
    providers.add_argument("--jobs", type=int, default=5_000, help="jobs of each type")
    providers.add_argument("--processes", type=int, default=1, help="worker processes")
    providers.set_defaults(run=run_providers)

    keys = what.add_parser(
        "keys",
        help="a per-key limit with fair sharing (one burst key, 100 small keys) vs the plain drain",
    )
    keys.add_argument(
        "--limit", type=_positive, default=4, help="the queue's key_concurrency"
    )
    keys.add_argument("--processes", type=_positive, default=2, help="worker processes")
    keys.set_defaults(run=run_keys)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark `argv` names against DATABASE_URL's server."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except UnsafeSettingsError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    if settings.database.url is None:
        raise SystemExit(
            "DATABASE_URL is not set: a benchmark needs a server where it may create a scratch database"
        )
    json_lines = (
        settings.log.format or ("text" if settings.env == "dev" else "json")
    ) == "json"
    configure_logging(level=settings.log.level, json_lines=json_lines)
    run: Runner = args.run
    try:
        run(args, settings.database.url)
    except (ServiceError, MigrationError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
