"""Rows for the console's browser tests, written straight into the test's database.

Jobs go in through `queue.enqueue`, as producers' do; their later states are
set as a worker would leave them (status, attempts, one outcome per attempt).
Alerts, schedules and workers are the rows the monitor, an operator and a
worker lane write. The console reads all of them back over HTTP, so a test
that seeds here and reads the page checks the whole path.
"""

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def sql(dsn: str, statement: Any, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement in its own autocommit session; its rows, if any."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def one(dsn: str, statement: Any, params: Any = None) -> Any:
    """The single value of a one-row, one-column query."""
    ((value,),) = sql(dsn, statement, params)
    return value


def enqueue(
    dsn: str,
    queue: str,
    job_type: str,
    data: dict[str, Any],
    *,
    scheduled_at: datetime | None = None,
) -> int:
    """Enqueue a job as a producer does; its id."""
    return int(
        one(
            dsn,
            "SELECT job_id FROM queue.enqueue(%s, %s, %s, run_at => %s)",
            (queue, job_type, Jsonb(data), scheduled_at),
        )
    )


def track(dsn: str, event: str = "page-view") -> int:
    """An analytics-track job, queue background."""
    return enqueue(dsn, "background", "analytics-track", {"eventType": event})


def refund(dsn: str, transaction: str = "tx-1") -> int:
    """A refund-process job, queue money."""
    return enqueue(dsn, "money", "refund-process", {"transactionId": transaction})


def fail(
    dsn: str,
    job_id: int,
    *,
    error_type: str = "ProviderUnavailable",
    message: str = "the provider answered 503",
    attempts: int = 2,
) -> None:
    """Fail a job for good as a worker would: every attempt with its outcome.

    The attempts ran a minute apart, the last one just now; the job was
    enqueued before the first.
    """
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = 'doing', attempts = %s, "
        "args = jsonb_set(args, '{meta,enqueued_at}', "
        "to_jsonb(now() - make_interval(secs => 60 * %s + 10))) WHERE id = %s",
        (attempts, attempts, job_id),
    )
    sql(dsn, "UPDATE procrastinate_jobs SET status = 'failed' WHERE id = %s", (job_id,))
    for attempt in range(1, attempts + 1):
        last = attempt == attempts
        sql(
            dsn,
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, "
            "status, error_type, error_message, started_at, finished_at) "
            "SELECT id, queue_name, task_name, %s, %s, %s, %s, "
            "now() - make_interval(secs => %s), now() - make_interval(secs => %s) "
            "FROM procrastinate_jobs WHERE id = %s",
            (
                attempt,
                "failed" if last else "retried",
                error_type if last else "Timeout",
                message if last else "the attempt timed out after 30 s",
                60 * (attempts - attempt) + 2.5,
                60 * (attempts - attempt),
                job_id,
            ),
        )


def succeed(dsn: str, job_id: int) -> None:
    """Finish a job as succeeded at its first attempt, with its outcome."""
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = 'doing', attempts = 1 WHERE id = %s",
        (job_id,),
    )
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = %s",
        (job_id,),
    )
    sql(
        dsn,
        "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, "
        "status, started_at) SELECT id, queue_name, task_name, 1, 'succeeded', "
        "now() - interval '0.4 seconds' FROM procrastinate_jobs WHERE id = %s",
        (job_id,),
    )


def state_of(dsn: str, job_id: int) -> tuple[str, int, bool] | None:
    """A job's status, attempts and abort flag; None once it is deleted."""
    rows = sql(
        dsn,
        "SELECT status::text, attempts, abort_requested FROM procrastinate_jobs "
        "WHERE id = %s",
        (job_id,),
    )
    return (rows[0][0], rows[0][1], rows[0][2]) if rows else None


def status_of(dsn: str, job_id: int) -> str | None:
    """A job's status; None once it is deleted."""
    state = state_of(dsn, job_id)
    return None if state is None else state[0]


def register_worker(dsn: str, queue: str = "background") -> int:
    """Register a worker lane as one does: procrastinate's row, then its queue."""
    worker_id = int(one(dsn, "SELECT procrastinate_register_worker_v1()"))
    sql(
        dsn,
        "INSERT INTO queue.worker_queues (worker_id, queue_name) VALUES (%s, %s)",
        (worker_id, queue),
    )
    return worker_id


def run_on(dsn: str, worker_id: int, job_id: int) -> None:
    """Put a waiting job in a worker's hands and start it, as a claim does."""
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE id = %s",
        (worker_id, job_id),
    )
    sql(dsn, "SELECT queue.mark_jobs_started(%s, %s)", ([job_id], worker_id))


def add_alert(
    dsn: str,
    message: str,
    *,
    severity: str = "warning",
    queue: str | None = "money",
    kind: str = "queue_depth",
    channels: dict[str, str] | None = None,
) -> int:
    """An open alert, as the monitor records one."""
    return int(
        one(
            dsn,
            "INSERT INTO queue.alert_history (severity, type, queue_name, value, "
            "threshold, message, channels) VALUES (%s, %s, %s, 120, 100, %s, %s) "
            "RETURNING id",
            (severity, kind, queue, message, Jsonb(channels or {"log": "sent"})),
        )
    )


def add_schedule(dsn: str, name: str, *, active: bool = True) -> None:
    """A schedule of cleanup-old-data on background, planned for tomorrow if active."""
    sql(
        dsn,
        "INSERT INTO queue.schedules (name, cron, queue, job_type, data, active, "
        "next_run_at) VALUES (%s, '0 3 * * *', 'background', 'cleanup-old-data', "
        "%s, %s, CASE WHEN %s THEN now() + interval '1 day' END)",
        (name, Jsonb({"target": "outcomes"}), active, active),
    )


def audit_actions(dsn: str) -> list[tuple[str, str, str, str]]:
    """The audit log's actor, role, action and target, oldest first."""
    return [
        (row[0], row[1], row[2], row[3])
        for row in sql(
            dsn, "SELECT actor, role, action, target FROM queue.audit_log ORDER BY id"
        )
    ]


def a_realistic_day(dsn: str) -> dict[str, int]:
    """Fill the database as a busy day leaves it, for the documentation's screenshots.

    A day of the monitor's snapshots and of outcomes (the charts), waiting,
    scheduled, running, succeeded and failed jobs on every business queue,
    dead letters in a few groups, busy provider buckets and an open breaker.
    Returns the ids of the jobs the screenshots open.
    """
    # Snapshots: every minute of the last hour, every five minutes before,
    # with the daily swell of each queue's backlog.
    sql(
        dsn,
        """
        INSERT INTO queue.queue_metrics (queue_name, captured_at, waiting, scheduled,
                                         running, succeeded_last_hour, failed_last_hour,
                                         oldest_waiting_age_s)
        SELECT q.name, now() - make_interval(mins => m),
               greatest(0, round(q.base * (1.2 + sin(m / 90.0 + q.phase))
                                 + 8 * sin(m / 7.0)))::bigint,
               round(q.base / 10.0)::bigint, 3 + (m % 4), 600 + (m % 60) * 4,
               (m % 11 = 0)::int, 20 + (m % 30)
        FROM (VALUES ('background', 120.0, 0.0), ('communication', 45.0, 1.5),
                     ('money', 12.0, 3.0), ('maintenance', 2.0, 4.5))
             AS q(name, base, phase),
             generate_series(0, 1439) AS m
        WHERE m < 60 OR m % 5 = 0
        """,
    )
    # Outcomes: the completed attempts of the day, more by day than by night.
    sql(
        dsn,
        """
        INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status,
                                        started_at, finished_at)
        SELECT 900000000 + row_number() OVER (), q.name, q.type, 1, 'succeeded',
               now() - make_interval(mins => m, secs => 1.5 + k),
               now() - make_interval(mins => m, secs => k)
        FROM (VALUES ('background', 'analytics-track', 9, 0.0),
                     ('communication', 'send-email', 5, 1.5),
                     ('money', 'refund-process', 2, 3.0))
             AS q(name, type, per_minute, phase),
             generate_series(0, 1439) AS m,
             generate_series(1, 40) AS k
        WHERE k <= round(q.per_minute * (1.1 + sin(m / 120.0 + q.phase))
                         * (1 + 0.3 * sin(m / 4.0 + 2 * q.phase)))
        """,
    )
    ids: dict[str, int] = {}
    for n in range(140):
        track(dsn, f"page-view-{n}")
    for n in range(30):
        enqueue(
            dsn,
            "communication",
            "send-email",
            {"to": f"guest{n}@example.com", "template": "booking-confirmation"},
        )
    for n in range(6):
        refund(dsn, f"tx-2041{n:02d}")
    # Waiting for minutes: the oldest-waiting column and the age of a backlog.
    sql(
        dsn,
        "UPDATE procrastinate_jobs SET args = jsonb_set(args, '{meta,enqueued_at}', "
        "to_jsonb(now() - make_interval(secs => 40 + id % 400))) "
        "WHERE status = 'todo'",
    )
    sql(
        dsn,
        """SELECT queue.enqueue('communication', 'send-sms',
                                jsonb_build_object('to', '+4915112345' || lpad(n::text, 3, '0'),
                                                   'message', 'Your table is ready'),
                                run_at => now() + make_interval(mins => n))
           FROM generate_series(1, 8) AS n""",
    )
    worker = register_worker(dsn, "background")
    money_worker = register_worker(dsn, "money")
    for n in range(3):
        run_on(dsn, worker, track(dsn, f"checkout-{n}"))
    run_on(dsn, money_worker, refund(dsn, "tx-204199"))
    for n in range(12):
        succeed(dsn, track(dsn, f"search-{n}"))
    for n in range(4):
        succeed(
            dsn,
            enqueue(
                dsn,
                "communication",
                "send-email",
                {"to": f"host{n}@example.com", "template": "daily-summary"},
            ),
        )
    for n in range(5):
        fail(
            dsn,
            refund(dsn, f"tx-1987{n:02d}"),
            error_type="ProviderUnavailable",
            message="stripe answered 503 Service Unavailable",
            attempts=10,
        )
    ids["failed"] = refund(dsn, "tx-198799")
    fail(
        dsn,
        ids["failed"],
        error_type="CardDeclined",
        message="stripe: the charge for this refund was disputed",
        attempts=3,
    )
    for n in range(3):
        fail(
            dsn,
            enqueue(
                dsn,
                "communication",
                "send-email",
                {"to": f"bounce{n}@example.net", "template": "booking-confirmation"},
            ),
            error_type="PermanentTaskError",
            message="sendgrid: 550 mailbox unavailable",
            attempts=1,
        )
    fail(
        dsn,
        track(dsn, "malformed"),
        error_type="ValidationError",
        message="properties.amount: not a number",
        attempts=2,
    )
    # Providers: stripe busy, sendgrid slowed by a 429, twilio held by a
    # Retry-After, quickbooks stopped by an operator, minting's breaker open.
    sql(
        dsn,
        "UPDATE queue.rate_limits SET tokens = 3.5, refilled_at = now() "
        "WHERE name = 'stripe'",
    )
    sql(
        dsn,
        "INSERT INTO queue.rate_limit_leases (bucket, expires_at) "
        "SELECT 'stripe', now() + interval '1 minute' FROM generate_series(1, 4)",
    )
    sql(
        dsn,
        "UPDATE queue.rate_limits SET rate_factor = 0.5, slowed_at = now(), "
        "recover_s = 600 WHERE name = 'sendgrid'",
    )
    sql(
        dsn,
        "UPDATE queue.rate_limits SET tokens = 0, hold_until = now() + interval '40 seconds', "
        "refilled_at = now() + interval '40 seconds' WHERE name = 'twilio-sms'",
    )
    sql(dsn, "UPDATE queue.rate_limits SET paused = true WHERE name = 'quickbooks'")
    sql(
        dsn,
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5, "
        "opened_at = now() - interval '20 seconds', retry_at = now() + interval '10 seconds', "
        "last_error = 'minting: 502 Bad Gateway' WHERE provider = 'minting'",
    )
    add_alert(
        dsn,
        "money: 5 failed in the last hour (threshold 3)",
        severity="critical",
        kind="failed_per_hour",
        channels={"log": "sent", "sms": "sent"},
    )
    return ids
