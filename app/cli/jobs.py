"""Commands on jobs and queues: `enqueue`, `retry`, `cancel`, `pause`/`resume`, `retention`."""

import argparse
import asyncio
import json
from datetime import datetime

from app.cli.connection import on_connection, require_dsn
from app.db import Connection
from app.settings import Settings


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

    asyncio.run(on_connection(require_dsn(settings), go))
    return 0


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

    asyncio.run(on_connection(require_dsn(settings), go))
    return 0


def cmd_cancel(args: argparse.Namespace, settings: Settings) -> int:
    """Cancel a waiting job or abort a running one."""
    from app.services.jobs import cancel_job

    async def go(conn: Connection) -> None:
        state = await cancel_job(conn, args.job_id)
        print(f"job {args.job_id} {state}")

    asyncio.run(on_connection(require_dsn(settings), go))
    return 0


def cmd_pause(args: argparse.Namespace, settings: Settings) -> int:
    """Pause or resume a queue."""
    from app.services.queues import set_paused

    paused = args.command == "pause"

    async def go(conn: Connection) -> None:
        await set_paused(conn, args.queue, paused=paused)
        print(f"queue {args.queue} {'paused' if paused else 'resumed'}")

    asyncio.run(on_connection(require_dsn(settings), go))
    return 0


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Run retention now and print what it deleted (for cron)."""
    from app.services.retention import run_retention

    async def go(conn: Connection) -> None:
        counts = await run_retention(conn, batch_size=args.batch_size)
        print(" ".join(f"{table}={count}" for table, count in counts.items()))

    asyncio.run(on_connection(require_dsn(settings), go))
    return 0
