"""What the monitor alerts on: pure rules over one reading of the queues and the database."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


class QueueReading(Protocol):
    """A queue now, beside its thresholds (a row of queue.queue_health)."""

    @property
    def queue_name(self) -> str: ...  # noqa: D102
    @property
    def paused(self) -> bool: ...  # noqa: D102
    @property
    def alert_severity(self) -> str: ...  # noqa: D102
    @property
    def waiting(self) -> int: ...  # noqa: D102
    @property
    def failed_last_hour(self) -> int: ...  # noqa: D102
    @property
    def oldest_waiting_age_s(self) -> float | None: ...  # noqa: D102
    @property
    def alert_max_waiting(self) -> int: ...  # noqa: D102
    @property
    def alert_max_oldest_age_s(self) -> float: ...  # noqa: D102
    @property
    def alert_max_failed_per_hour(self) -> int: ...  # noqa: D102
    @property
    def workers_alive(self) -> int: ...  # noqa: D102


class DatabaseReading(Protocol):
    """The database's health (a row of queue.database_health)."""

    @property
    def dead_tuples(self) -> int: ...  # noqa: D102
    @property
    def last_vacuum_age_s(self) -> float | None: ...  # noqa: D102
    @property
    def oldest_transaction_age_s(self) -> float | None: ...  # noqa: D102
    @property
    def stalled_jobs(self) -> int: ...  # noqa: D102


@dataclass(frozen=True)
class DatabaseThresholds:
    """Limits of the database's health; past them the monitor alerts."""

    max_dead_tuples: int
    max_transaction_age_s: float
    max_vacuum_age_s: float = 86_400.0


# A transaction this many times past its threshold is critical, not a warning.
CRITICAL_TRANSACTION_FACTOR = 6
# An unvacuumed table matters once it holds this share of the bloat threshold.
STALE_VACUUM_SHARE = 10


@dataclass(frozen=True)
class Breach:
    """A threshold a reading went past."""

    severity: str
    type: str
    queue: str | None
    value: float
    threshold: float
    message: str


def queue_breaches(queue: QueueReading) -> list[Breach]:
    """Return the thresholds this queue is past.

    A paused queue's backlog is expected: only its failures and missing
    workers are reported.
    """
    found = []
    severity, name = queue.alert_severity, queue.queue_name

    def breach(kind: str, value: float, threshold: float, message: str) -> None:
        found.append(Breach(severity, kind, name, value, threshold, message))

    if not queue.paused and queue.waiting > queue.alert_max_waiting:
        breach(
            "queue_depth",
            queue.waiting,
            queue.alert_max_waiting,
            f"{queue.waiting} jobs waiting in {name} (threshold {queue.alert_max_waiting})",
        )
    age = queue.oldest_waiting_age_s or 0.0
    if not queue.paused and age > queue.alert_max_oldest_age_s:
        breach(
            "oldest_job_age",
            round(age, 1),
            queue.alert_max_oldest_age_s,
            f"the oldest job of {name} has waited {age:.0f} s "
            f"(threshold {queue.alert_max_oldest_age_s:.0f} s)",
        )
    if queue.failed_last_hour > queue.alert_max_failed_per_hour:
        breach(
            "failure_rate",
            queue.failed_last_hour,
            queue.alert_max_failed_per_hour,
            f"{queue.failed_last_hour} jobs of {name} failed for good in the last hour "
            f"(threshold {queue.alert_max_failed_per_hour})",
        )
    if queue.workers_alive == 0:
        breach(
            "no_workers",
            0,
            1,
            f"no worker is serving queue {name}",
        )
    return found


def database_breaches(
    database: DatabaseReading, thresholds: DatabaseThresholds
) -> list[Breach]:
    """Return the database's health limits it is past."""
    found = []
    if database.stalled_jobs > 0:
        # A warning, not a page: the rescue returns these jobs by itself within
        # a minute. Stalled jobs that stay are reported again after the cooldown.
        found.append(
            Breach(
                "warning",
                "stalled_jobs",
                None,
                database.stalled_jobs,
                0,
                f"{database.stalled_jobs} running job(s) belong to workers that stopped "
                "heartbeating",
            )
        )
    if database.dead_tuples > thresholds.max_dead_tuples:
        found.append(
            Breach(
                "warning",
                "table_bloat",
                None,
                database.dead_tuples,
                thresholds.max_dead_tuples,
                f"procrastinate_jobs has {database.dead_tuples} dead tuples "
                f"(threshold {thresholds.max_dead_tuples}): is autovacuum keeping up?",
            )
        )
    vacuum_age = database.last_vacuum_age_s
    if (
        vacuum_age is not None
        and vacuum_age > thresholds.max_vacuum_age_s
        and database.dead_tuples > thresholds.max_dead_tuples // STALE_VACUUM_SHARE
    ):
        found.append(
            Breach(
                "warning",
                "autovacuum_stale",
                None,
                round(vacuum_age),
                thresholds.max_vacuum_age_s,
                f"procrastinate_jobs was last vacuumed {vacuum_age / 3600:.1f} h ago "
                f"and holds {database.dead_tuples} dead tuples: is autovacuum blocked?",
            )
        )
    age = database.oldest_transaction_age_s or 0.0
    if age > thresholds.max_transaction_age_s:
        critical = age > thresholds.max_transaction_age_s * CRITICAL_TRANSACTION_FACTOR
        found.append(
            Breach(
                "critical" if critical else "warning",
                "long_transaction",
                None,
                round(age, 1),
                thresholds.max_transaction_age_s,
                f"a transaction has been open for {age:.0f} s "
                f"(threshold {thresholds.max_transaction_age_s:.0f} s); it holds back vacuum",
            )
        )
    return found


def breaches(
    queues: Sequence[QueueReading],
    database: DatabaseReading,
    thresholds: DatabaseThresholds,
) -> list[Breach]:
    """Return every threshold the reading is past, queues first."""
    found = [breach for queue in queues for breach in queue_breaches(queue)]
    return found + database_breaches(database, thresholds)
