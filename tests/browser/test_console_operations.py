"""The operations pages in a real browser: failures, provider limits, alerts,
schedules and workers, each page's rows and each of an admin's actions, checked
in the database after the click."""

from playwright.async_api import Page, expect

from tests.browser import seed
from tests.browser.conftest import sign_in, token
from tests.browser.console import expect_notice, open_page

ADMIN = "ada@example.com"
HOSTILE = "<script>window.pwned = true</script> stripe said no"


def group(page: Page, queue: str, job_type: str, error_type: str):
    """A failures group's row."""
    return page.locator(
        f'tr[data-group][data-queue="{queue}"][data-job-type="{job_type}"]'
        f'[data-error-type="{error_type}"]'
    )


async def test_failures_are_grouped_and_an_admin_retries_and_discards_a_group(
    console_server: str, page: Page, db_dsn: str
) -> None:
    unavailable = [seed.track(db_dsn, f"e{n}") for n in range(2)]
    for job in unavailable:
        seed.fail(db_dsn, job, message=f"analytics answered 503 to job {job}")
    permanent = seed.track(db_dsn, "bad")
    seed.fail(db_dsn, permanent, error_type="PermanentTaskError", message="bad event")
    refund = seed.refund(db_dsn, "tx-9")
    seed.fail(db_dsn, refund, message=HOSTILE)
    waiting = seed.track(db_dsn, "not-a-failure")
    await sign_in(page, console_server, token("admin", ADMIN))
    await open_page(page, "Failures")
    await expect(page.locator("tr[data-group]")).to_have_count(3)
    retried = group(page, "background", "analytics-track", "ProviderUnavailable")
    await expect(retried.locator("[data-field=count]")).to_have_text("2")
    await expect(retried.locator("[data-field=sample]")).to_have_text(
        f"analytics answered 503 to job {unavailable[-1]}"
    )
    discarded = group(page, "money", "refund-process", "ProviderUnavailable")
    await expect(discarded.locator("[data-field=sample]")).to_have_text(HOSTILE)
    assert await page.evaluate("() => window.pwned") is None
    # A group leads to its jobs in the browser.
    await retried.get_by_role("link", name="Browse these jobs").click()
    await expect(page).to_have_url(
        f"{console_server}/console/jobs?queue=background&type=analytics-track&state=failed"
    )
    await expect(page.locator("tr[data-job-id]")).to_have_count(3)
    await page.go_back()
    await retried.get_by_role("button", name="Retry group").click()
    await expect_notice(page, "/console/failures", "bulk-retried")
    await expect(retried).to_have_count(0)
    await expect(page.locator("tr[data-group]")).to_have_count(2)
    assert [seed.status_of(db_dsn, job) for job in unavailable] == ["todo", "todo"]
    assert seed.status_of(db_dsn, permanent) == "failed"
    await discarded.get_by_role("button", name="Discard group").click()
    await expect_notice(page, "/console/failures", "bulk-discarded")
    await expect(discarded).to_have_count(0)
    await expect(
        group(page, "background", "analytics-track", "PermanentTaskError")
    ).to_be_visible()
    assert seed.state_of(db_dsn, refund) is None
    assert seed.status_of(db_dsn, permanent) == "failed"
    assert seed.status_of(db_dsn, waiting) == "todo"
    assert seed.audit_actions(db_dsn) == [
        (ADMIN, "admin", "failures.retry", "queue:background"),
        (ADMIN, "admin", "failures.discard", "queue:money"),
    ]


async def test_an_admin_cancels_a_group_of_jobs_waiting_to_be_retried(
    console_server: str, page: Page, db_dsn: str
) -> None:
    declined = [seed.refund(db_dsn, f"tx-d{n}") for n in range(2)]
    for job in declined:
        # A first attempt failed; the job waits for its second.
        seed.sql(
            db_dsn, "UPDATE procrastinate_jobs SET attempts = 1 WHERE id = %s", (job,)
        )
        seed.sql(
            db_dsn,
            "INSERT INTO queue.job_outcomes (job_id, queue_name, job_type, attempt, status, "
            "error_type, error_message, started_at) VALUES "
            "(%s, 'money', 'refund-process', 1, 'retried', 'CardDeclined', 'declined', now())",
            (job,),
        )
    untouched = seed.refund(db_dsn, "tx-fresh")
    await sign_in(page, console_server, token("admin", ADMIN))
    await open_page(page, "Failures")
    row = page.locator('tr[data-retrying][data-error-type="CardDeclined"]')
    await expect(row.locator("[data-field=count]")).to_have_text("2")
    await row.get_by_role("button", name="Cancel group").click()
    await expect_notice(page, "/console/failures", "bulk-cancelled")
    await expect(page.locator("tr[data-retrying]")).to_have_count(0)
    assert [seed.status_of(db_dsn, job) for job in declined] == ["cancelled"] * 2
    assert seed.status_of(db_dsn, untouched) == "todo"
    assert seed.audit_actions(db_dsn) == [
        (ADMIN, "admin", "failures.cancel", "queue:money")
    ]


def bucket(page: Page, name: str):
    return page.locator(f'tr[data-bucket="{name}"]')


def stopped(dsn: str) -> dict[str, bool]:
    return dict(seed.sql(dsn, "SELECT name, paused FROM queue.rate_limits"))


async def test_an_admin_stops_resumes_and_resets_provider_buckets(
    console_server: str, page: Page, db_dsn: str
) -> None:
    seed.sql(
        db_dsn,
        "UPDATE queue.rate_limits SET tokens = 0, hold_until = now() + interval '1 hour', "
        "refilled_at = now() + interval '1 hour' WHERE name = 'twilio'",
    )
    seed.sql(
        db_dsn,
        "UPDATE queue.circuit_breakers SET state = 'open', failures = 5, "
        "opened_at = now(), retry_at = now() + interval '1 hour', "
        "last_error = 'minting: 502 Bad Gateway' WHERE provider = 'minting'",
    )
    await sign_in(page, console_server, token("admin", ADMIN))
    await open_page(page, "Limits")
    await expect(page.locator("tr[data-bucket]")).to_have_count(
        seed.one(db_dsn, "SELECT count(*) FROM queue.rate_limits")
    )
    await expect(bucket(page, "stripe").locator("[data-field=state]")).to_have_text(
        "live"
    )
    await expect(bucket(page, "twilio").locator("[data-field=hold]")).to_contain_text(
        "held"
    )
    minting = page.locator('tr[data-breaker="minting"]')
    await expect(minting.locator("[data-field=state]")).to_have_text("open")
    await expect(minting.locator("[data-field=last-error]")).to_have_text(
        "minting: 502 Bad Gateway"
    )
    # Stop one provider, with a reason; then resume it.
    await page.get_by_label("Reason to stop stripe").fill("stripe incident 42")
    await page.get_by_role("button", name="Stop stripe").click()
    await expect_notice(page, "/console/limits", "stopped")
    await expect(bucket(page, "stripe").locator("[data-field=state]")).to_have_text(
        "stopped"
    )
    assert [name for name, paused in stopped(db_dsn).items() if paused] == ["stripe"]
    reason = seed.one(
        db_dsn,
        "SELECT details ->> 'reason' FROM queue.audit_log "
        "WHERE action = 'rate_limit.emergency_stop'",
    )
    assert reason == "stripe incident 42"
    await page.get_by_role("button", name="Resume stripe").click()
    await expect_notice(page, "/console/limits", "provider-resumed")
    await expect(bucket(page, "stripe").locator("[data-field=state]")).to_have_text(
        "live"
    )
    assert not any(stopped(db_dsn).values())
    # Reset refills a bucket and lifts its Retry-After hold.
    await page.get_by_role("button", name="Reset twilio", exact=True).click()
    await expect_notice(page, "/console/limits", "reset")
    await expect(bucket(page, "twilio").locator("[data-field=hold]")).to_contain_text(
        "none"
    )
    tokens, burst, hold = seed.sql(
        db_dsn,
        "SELECT tokens, burst, hold_until FROM queue.rate_limits WHERE name = 'twilio'",
    )[0]
    assert (tokens, hold) == (burst, None)
    # Every provider at once.
    await page.get_by_role("button", name="Stop every provider").click()
    await expect_notice(page, "/console/limits", "stopped-all")
    await expect(
        page.locator('tr[data-bucket] [data-field=state]:has-text("live")')
    ).to_have_count(0)
    assert all(stopped(db_dsn).values())
    await page.get_by_role("button", name="Resume every provider").click()
    await expect_notice(page, "/console/limits", "resumed-all")
    await expect(
        page.locator('tr[data-bucket] [data-field=state]:has-text("stopped")')
    ).to_have_count(0)
    assert not any(stopped(db_dsn).values())
    assert [action[2:] for action in seed.audit_actions(db_dsn)] == [
        ("rate_limit.emergency_stop", "rate_limit:stripe"),
        ("rate_limit.resume", "rate_limit:stripe"),
        ("rate_limit.reset", "rate_limit:twilio"),
        ("rate_limit.emergency_stop", "rate_limit:*"),
        ("rate_limit.resume", "rate_limit:*"),
    ]


async def test_an_admin_acknowledges_an_alert(
    console_server: str, page: Page, db_dsn: str
) -> None:
    depth = seed.add_alert(
        db_dsn,
        "money: 120 waiting (threshold 100)",
        severity="critical",
        channels={"log": "sent", "sms": "sent SM123"},
    )
    slow = seed.add_alert(db_dsn, "communication is slow", queue="communication")
    await sign_in(page, console_server, token("admin", ADMIN))
    await open_page(page, "Alerts")
    rows = page.locator("tr[data-alert]")
    await expect(rows).to_have_count(2)
    row = page.locator(f'tr[data-alert="{depth}"]')
    await expect(row.locator("[data-field=severity]")).to_have_text("critical")
    await expect(row.locator("[data-field=queue]")).to_have_text("money")
    await expect(row.locator("[data-field=message]")).to_have_text(
        "money: 120 waiting (threshold 100)"
    )
    await expect(row.locator('[data-channel="sms"]')).to_have_text("sms: sent SM123")
    await expect(row.locator("[data-field=acknowledged]")).to_have_text("open")
    await row.get_by_role("button", name=f"Acknowledge alert {depth}").click()
    await expect_notice(page, "/console/alerts", "acknowledged")
    await expect(rows).to_have_count(1)
    await expect(page.locator(f'tr[data-alert="{slow}"]')).to_be_visible()
    assert seed.sql(
        db_dsn,
        "SELECT acknowledged_by, acknowledged_at IS NOT NULL FROM queue.alert_history "
        "WHERE id = %s",
        (depth,),
    ) == [(ADMIN, True)]
    assert seed.audit_actions(db_dsn) == [
        (ADMIN, "admin", "alert.acknowledge", f"alert:{depth}")
    ]
    # Every alert: the acknowledged one says who, and offers nothing more.
    await page.get_by_label("Show").select_option("all")
    await page.get_by_role("button", name="Filter").click()
    await expect(page).to_have_url(f"{console_server}/console/alerts?show=all")
    await expect(rows).to_have_count(2)
    await expect(row.locator("[data-field=acknowledged]")).to_contain_text(ADMIN)
    await expect(row.get_by_role("button")).to_have_count(0)


async def test_an_admin_disables_enables_and_runs_a_schedule_now(
    console_server: str, page: Page, db_dsn: str
) -> None:
    seed.add_schedule(db_dsn, "nightly-cleanup")
    await sign_in(page, console_server, token("admin", ADMIN))
    await open_page(page, "Schedules")
    row = page.locator('tr[data-schedule="nightly-cleanup"]')
    await expect(row.locator("[data-field=cron]")).to_have_text("0 3 * * *")
    await expect(row.locator("[data-field=job-type]")).to_have_text("cleanup-old-data")
    await expect(row.locator("[data-field=enabled]")).to_have_text("enabled")
    await expect(row.locator("[data-field=next-run]")).to_contain_text("in ")
    await expect(row.locator("[data-field=last-run]")).to_have_text("never")
    # The shipped schedules are listed too, disabled.
    await expect(
        page.locator('tr[data-schedule="reconciliation-report"] [data-field=enabled]')
    ).to_have_text("disabled")

    def stored() -> tuple[bool, bool]:
        return seed.sql(
            db_dsn,
            "SELECT active, next_run_at IS NOT NULL FROM queue.schedules "
            "WHERE name = 'nightly-cleanup'",
        )[0]

    await page.get_by_role("button", name="Disable nightly-cleanup").click()
    await expect_notice(page, "/console/schedules", "disabled")
    await expect(row.locator("[data-field=enabled]")).to_have_text("disabled")
    await expect(row.locator("[data-field=next-run]")).to_have_text("none")
    assert stored() == (False, False)
    await page.get_by_role("button", name="Enable nightly-cleanup").click()
    await expect_notice(page, "/console/schedules", "enabled")
    await expect(row.locator("[data-field=enabled]")).to_have_text("enabled")
    await expect(row.locator("[data-field=next-run]")).to_contain_text("in ")
    assert stored() == (True, True)
    await page.get_by_role("button", name="Run nightly-cleanup now").click()
    await expect_notice(page, "/console/schedules", "ran")
    jobs = seed.sql(
        db_dsn,
        "SELECT id, queue_name, task_name, status::text FROM procrastinate_jobs "
        "WHERE args -> 'meta' ->> 'schedule' = 'nightly-cleanup'",
    )
    assert [job[1:] for job in jobs] == [("background", "cleanup-old-data", "todo")]
    assert stored() == (True, True)
    assert [action[2:] for action in seed.audit_actions(db_dsn)] == [
        ("schedule.update", "schedule:nightly-cleanup"),
        ("schedule.update", "schedule:nightly-cleanup"),
        ("schedule.run_now", "schedule:nightly-cleanup"),
    ]


async def test_a_worker_and_its_running_job_appear_and_an_admin_aborts_the_job(
    console_server: str, page: Page, db_dsn: str
) -> None:
    busy = seed.register_worker(db_dsn, "background")
    idle = seed.register_worker(db_dsn, "money")
    job = seed.track(db_dsn, "long-export")
    seed.run_on(db_dsn, busy, job)
    await sign_in(page, console_server, token("admin", ADMIN))
    await open_page(page, "Workers")
    await expect(page.locator("tr[data-worker]")).to_have_count(2)
    row = page.locator(f'tr[data-worker="{busy}"]')
    await expect(row.locator("[data-field=queues]")).to_have_text("background")
    await expect(row.locator("[data-field=running]")).to_have_text("1")
    await expect(row.locator("[data-field=heartbeat-age]")).to_contain_text("alive")
    await expect(row.locator(f'li[data-job="{job}"]')).to_contain_text(
        "analytics-track"
    )
    await expect(row.locator(f'li[data-job="{job}"]')).to_contain_text("started ")
    idle_row = page.locator(f'tr[data-worker="{idle}"]')
    await expect(idle_row.locator("[data-field=queues]")).to_have_text("money")
    await expect(idle_row.locator("[data-field=jobs]")).to_have_text("idle")
    # The page is read-only.
    await expect(page.locator("main form")).to_have_count(0)
    # Its job leads to the job's page, where an admin may abort it.
    await row.get_by_role("link", name=str(job), exact=True).click()
    await expect(page).to_have_url(f"{console_server}/console/jobs/{job}")
    await expect(page.locator("h1 [data-field=state]")).to_have_text("doing")
    await expect(page.locator('li[data-reason="running"]')).to_be_visible()
    await page.get_by_role("button", name="Abort", exact=True).click()
    await expect_notice(page, f"/console/jobs/{job}", "aborting")
    assert seed.state_of(db_dsn, job) == ("doing", 0, True)
    assert seed.audit_actions(db_dsn) == [(ADMIN, "admin", "job.cancel", f"job:{job}")]
