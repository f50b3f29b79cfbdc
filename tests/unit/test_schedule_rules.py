from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.domain.errors import InvalidSchedule
from app.domain.schedules import (
    latest_run,
    next_run,
    plan_run,
    run_key,
    validate_cron,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "normalized"),
    [
        ("0 2 * * *", "0 2 * * *"),
        ("  */5   * * * *  ", "*/5 * * * *"),
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI"),
        ("@daily", "@daily"),
        ("0 0 29 2 *", "0 0 29 2 *"),
    ],
)
def test_validate_cron_accepts_and_normalizes(cron, normalized):
    assert validate_cron(cron) == normalized


@pytest.mark.parametrize(
    ("cron", "reason"),
    [
        ("", "is empty"),
        ("0 2 * *", "needs five fields"),
        ("0 2 * * * *", "needs five fields"),
        ("60 * * * *", "out of range or malformed"),
        ("a b c d e", "out of range or malformed"),
        ("@reboot", "unknown name"),
        ("0 0 31 2 *", "never fires"),
        ("\u0660 * * * *", "ASCII"),
    ],
)
def test_validate_cron_refuses_with_a_pointer(cron, reason):
    with pytest.raises(InvalidSchedule, match=reason) as excinfo:
        validate_cron(cron)
    assert excinfo.value.errors[0]["pointer"] == "/cron"
    assert reason in excinfo.value.errors[0]["detail"]


def test_next_run_is_strictly_after_and_in_utc():
    assert next_run("0 2 * * *", at("2026-03-01T02:00:00")) == at("2026-03-02T02:00:00")
    assert next_run("0 2 * * *", at("2026-03-01T01:59:59.5")) == at(
        "2026-03-01T02:00:00"
    )
    # 03:00 at UTC+2 is 01:00 UTC: the next 02:00 UTC is an hour later, not
    # tomorrow (as it would be if cron were read in the time's own zone).
    plus_two = datetime(2026, 3, 1, 3, 0, tzinfo=timezone(timedelta(hours=2)))
    assert next_run("0 2 * * *", plus_two) == at("2026-03-01T02:00:00")
    assert next_run("0 2 * * *", plus_two).tzinfo == UTC


def test_latest_run_includes_the_exact_fire_time():
    assert latest_run("*/5 * * * *", at("2026-03-01T10:05:00")) == at(
        "2026-03-01T10:05:00"
    )
    assert latest_run("*/5 * * * *", at("2026-03-01T10:09:59.999")) == at(
        "2026-03-01T10:05:00"
    )
    assert latest_run("*/5 * * * *", at("2026-03-01T10:04:59.999")) == at(
        "2026-03-01T10:00:00"
    )


def test_plan_run_not_due_keeps_the_next_run():
    plan = plan_run(
        "0 2 * * *",
        next_run_at=at("2026-03-02T02:00:00"),
        updated_at=at("2026-01-01T00:00:00"),
        now=at("2026-03-01T12:00:00"),
    )
    assert (plan.run_at, plan.next_run_at, plan.skipped) == (
        None,
        at("2026-03-02T02:00:00"),
        0,
    )


def test_plan_run_due_on_time_runs_it_and_plans_the_next():
    plan = plan_run(
        "*/5 * * * *",
        next_run_at=at("2026-03-01T10:05:00"),
        updated_at=at("2026-01-01T00:00:00"),
        now=at("2026-03-01T10:05:07"),
    )
    assert (plan.run_at, plan.next_run_at, plan.skipped) == (
        at("2026-03-01T10:05:00"),
        at("2026-03-01T10:10:00"),
        0,
    )


def test_plan_run_after_an_outage_runs_only_the_latest_missed_run():
    # Due since 10:05; nothing ran until 11:02: 10:05 ... 10:55 were missed.
    plan = plan_run(
        "*/5 * * * *",
        next_run_at=at("2026-03-01T10:05:00"),
        updated_at=at("2026-01-01T00:00:00"),
        now=at("2026-03-01T11:02:00"),
    )
    assert (plan.run_at, plan.next_run_at, plan.skipped) == (
        at("2026-03-01T11:00:00"),
        at("2026-03-01T11:05:00"),
        11,
    )


def test_plan_run_without_a_next_run_starts_from_the_last_change():
    # Enabled from SQL at 01:59:55; the task first looks at 02:00:05.
    plan = plan_run(
        "0 2 * * *",
        next_run_at=None,
        updated_at=at("2026-03-01T01:59:55"),
        now=at("2026-03-01T02:00:05"),
    )
    assert (plan.run_at, plan.next_run_at) == (
        at("2026-03-01T02:00:00"),
        at("2026-03-02T02:00:00"),
    )
    later = plan_run(
        "0 2 * * *",
        next_run_at=None,
        updated_at=at("2026-03-01T02:00:01"),
        now=at("2026-03-01T02:00:05"),
    )
    assert (later.run_at, later.next_run_at) == (None, at("2026-03-02T02:00:00"))


def test_plan_run_with_a_stale_next_run_follows_the_expression():
    # 10:07 is no fire time of */5: run nothing, plan the expression's next.
    plan = plan_run(
        "0 * * * *",
        next_run_at=at("2026-03-01T10:07:00"),
        updated_at=at("2026-01-01T00:00:00"),
        now=at("2026-03-01T10:30:00"),
    )
    assert (plan.run_at, plan.next_run_at) == (None, at("2026-03-01T11:00:00"))


def test_plan_run_refuses_a_stored_invalid_cron():
    with pytest.raises(InvalidSchedule):
        plan_run(
            "every day",
            next_run_at=None,
            updated_at=at("2026-01-01T00:00:00"),
            now=at("2026-03-01T10:30:00"),
        )


def test_run_key_names_schedule_and_utc_run_time():
    plus_two = datetime(2026, 3, 1, 4, 0, tzinfo=timezone(timedelta(hours=2)))
    assert run_key("cleanup-old-data", plus_two) == (
        "schedule-cleanup-old-data-2026-03-01T02:00:00Z"
    )
