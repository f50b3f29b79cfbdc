"""Cron rules of schedules (`queue.schedules`): UTC, minute resolution.

A cron expression has the five standard fields (minute, hour, day of month,
month, day of week) or is one of `@yearly`, `@annually`, `@monthly`,
`@weekly`, `@daily`, `@midnight`, `@hourly`. Every time is UTC.

Missed runs: when a schedule is found due long after its next run (the
workers were down), only the **latest** due run is enqueued; the earlier
missed ones are skipped and counted, never enqueued as a backlog.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import CroniterError, croniter

from app.domain.errors import InvalidSchedule

NAMED = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)
MAX_CRON_LENGTH = 100
# Skipped runs are counted for the log up to this many; more reads as "at least".
MAX_COUNTED_SKIPS = 10_000


def normalize_cron(cron: str) -> str:
    """Return `cron` with its fields separated by single spaces."""
    return " ".join(cron.split())


def validate_cron(cron: str) -> str:
    """Return the normalized expression if it is a valid schedule, else raise.

    Raises:
        InvalidSchedule: not five fields or a known `@` name, a field out of
            range, or an expression that never fires (`0 0 31 2 *`); the
            error points at `/cron`.
    """
    normalized = normalize_cron(cron)
    reason = _cron_problem(normalized)
    if reason is not None:
        raise InvalidSchedule(
            f'invalid cron expression "{cron}": {reason}',
            errors=[{"detail": reason, "pointer": "/cron"}],
        )
    return normalized


def _cron_problem(cron: str) -> str | None:
    if not cron:
        return "is empty"
    if len(cron) > MAX_CRON_LENGTH:
        return f"is longer than {MAX_CRON_LENGTH} characters"
    if not cron.isascii():
        return "may contain ASCII characters only"
    if cron.startswith("@"):
        if cron not in NAMED:
            return f"unknown name; use one of {', '.join(sorted(NAMED))}"
    elif len(cron.split()) != 5:
        return "needs five fields: minute hour day-of-month month day-of-week (UTC)"
    try:
        valid = croniter.is_valid(cron)
    except Exception:  # croniter parses free text; any failure means invalid
        valid = False
    if not valid:
        return "a field is out of range or malformed"
    try:
        croniter(cron, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterError:
        return "never fires"
    return None


def next_run(cron: str, after: datetime) -> datetime:
    """Return the first fire time of `cron` strictly after `after`, in UTC."""
    fired: datetime = croniter(cron, after.astimezone(UTC)).get_next(datetime)
    return fired.astimezone(UTC)


def latest_run(cron: str, at: datetime) -> datetime:
    """Return the last fire time of `cron` at or before `at`, in UTC."""
    # croniter's get_prev is strictly before its start. Fire times are whole
    # minutes, so "at or before `at`" is "before `at` rounded down to the
    # second, plus one second".
    start = at.astimezone(UTC).replace(microsecond=0) + timedelta(seconds=1)
    fired: datetime = croniter(cron, start).get_prev(datetime)
    return fired.astimezone(UTC)


@dataclass(frozen=True)
class RunPlan:
    """What to do with a claimed schedule now.

    Attributes:
        run_at: The run time to enqueue now, or None (nothing is due yet).
        next_run_at: The schedule's next run after this one.
        skipped: Earlier due runs left out (missed while nothing ran).
    """

    run_at: datetime | None
    next_run_at: datetime
    skipped: int = 0


def plan_run(
    cron: str,
    *,
    next_run_at: datetime | None,
    updated_at: datetime,
    now: datetime,
) -> RunPlan:
    """Decide which run of a claimed schedule to enqueue at `now`.

    A schedule without a next run (enabled or inserted from SQL) starts from
    its last change: its first run is the first fire time after `updated_at`.
    Of the runs due by `now`, only the latest is enqueued; the others are
    skipped (see the module's docstring).

    Raises:
        InvalidSchedule: the stored expression is not valid.
    """
    cron = validate_cron(cron)
    now = now.astimezone(UTC)
    first = (
        next_run_at.astimezone(UTC)
        if next_run_at is not None
        else next_run(cron, updated_at)
    )
    if first > now:
        return RunPlan(run_at=None, next_run_at=first)
    run_at = latest_run(cron, now)
    if run_at < first:
        # `first` is not a fire time of this expression (edited behind our
        # back): run nothing now and follow the expression from here.
        return RunPlan(run_at=None, next_run_at=next_run(cron, now))
    return RunPlan(
        run_at=run_at,
        next_run_at=next_run(cron, run_at),
        skipped=_count_between(cron, first, run_at),
    )


def _count_between(cron: str, first: datetime, last: datetime) -> int:
    """Return how many fire times lie in [first, last), up to MAX_COUNTED_SKIPS."""
    if first >= last:
        return 0
    times = croniter(cron, first - timedelta(seconds=1))
    count = 0
    while count < MAX_COUNTED_SKIPS and times.get_next(datetime) < last:
        count += 1
    return count


def run_key(name: str, run_at: datetime) -> str:
    """Return the idempotency key of a schedule's run: `schedule-<name>-<UTC time>`."""
    return f"schedule-{name}-{run_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
