"""`queue-service serve` (the HTTP API) and `dev` (migrate, then the API and a worker)."""

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import timedelta

import uvicorn

from app.cli.connection import require_dsn
from app.cli.migrate import print_report, run_migrations
from app.cli.worker import worker_config
from app.settings import Settings


@contextlib.contextmanager
def _dev_database(settings: Settings) -> Iterator[str]:
    if settings.database.url is not None:
        yield settings.database.url
        return
    try:
        from app.db.embedded import EmbeddedPostgres
    except ImportError as exc:
        raise SystemExit(
            "DATABASE_URL is not set and the embedded PostgreSQL is not installed: "
            "install queue-service[embedded], or set DATABASE_URL"
        ) from exc
    with EmbeddedPostgres() as embedded:
        yield embedded.dsn


def cmd_dev(args: argparse.Namespace, settings: Settings) -> int:
    """Migrate and run the service on the embedded PostgreSQL (or DATABASE_URL)."""
    del args
    from app.api.auth import issue_token
    from app.domain.access import Role

    with _dev_database(settings) as dsn:
        print_report(run_migrations(dsn))
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
            f"console: http://127.0.0.1:{settings.api.port}/console  (sign in with the admin token)"
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
        _one_line_per_job()
        asyncio.run(_serve_and_work(settings, dsn, host="127.0.0.1"))
    return 0


def _one_line_per_job() -> None:
    """Show each job's end in dev: the worker logs it at debug, its start too."""
    chain = logging.getLogger("workers.job_chain")
    chain.setLevel(logging.DEBUG)
    chain.addFilter(lambda record: getattr(record, "action", None) != "job_started")


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
        run_worker_process(worker_config(settings, dsn), stop=stop),
        server.serve(),
        stop_server(),
    )


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API."""
    require_dsn(settings)
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
