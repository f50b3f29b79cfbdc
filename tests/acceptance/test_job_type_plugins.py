"""A job type from another package, end to end, in real processes.

The plugin is a distribution in a temporary directory (tests/helpers/plugins.py),
seen by `queue-service migrate`, `serve` and `worker` through PYTHONPATH, as
an installed one would be: migrate writes its row, the API validates and
takes its jobs, a worker runs its body. A broken plugin stops each process at
start, naming its entry point.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from app.api.auth import issue_token
from app.domain.access import Role
from tests.helpers import database
from tests.helpers.plugins import TICKET_SCAN_PACKAGE, ticket_scan_plugin
from tests.helpers.workers import ROOT, free_port, query, wait_for, worker_process
from tests.ops.processes import JWT_SECRET, api, get, post

JOBS = "/api/v1/queue/jobs"
TICKET = "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02"
ENTRY_POINT = (
    "job-type plugin 'tickets = ticket_scan_jobs:plugin' of ticket-scan-jobs 0.1"
)


def _cli(dsn: str, plugin: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The test's interpreter running our CLI, with the plugin on its path.
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": dsn,
            "JWT_SECRET": JWT_SECRET,
            "PYTHONPATH": str(plugin),
            "LOG_FORMAT": "text",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def plugin(tmp_path_factory) -> Path:
    return ticket_scan_plugin(tmp_path_factory.mktemp("plugin"))


@pytest.fixture(scope="module")
def migrated(admin_dsn, template_db, plugin) -> Iterator[tuple[str, str]]:
    """A database `queue-service migrate` migrated with the plugin installed."""
    name = database.clone_template(admin_dsn)
    dsn = database.dsn_for(admin_dsn, name)
    try:
        run = _cli(dsn, plugin, "migrate")
        assert run.returncode == 0, run.stderr
        yield dsn, run.stdout
    finally:
        database.drop_database(admin_dsn, name)


@pytest.fixture(scope="module")
def server(migrated, plugin, tmp_path_factory) -> Iterator[str]:
    dsn, _ = migrated
    with api(
        dsn,
        tmp_path_factory.mktemp("api"),
        free_port(),
        PYTHONPATH=str(plugin),
    ) as base:
        yield base


def _auth(role: Role, sub: str = "fan-1") -> dict[str, str]:
    token = issue_token(
        secret=JWT_SECRET, role=role, sub=sub, venues=(), ttl=timedelta(hours=1)
    )
    return {"Authorization": f"Bearer {token}"}


def test_migrate_writes_the_plugin_type_rows(migrated, plugin):
    dsn, output = migrated

    assert "applied: app/job_types/ticket-scan\n" in output
    assert "applied: app/job_types/ticket-scan payload\n" in output
    assert query(
        dsn,
        "SELECT queue, default_priority, idempotency_key_template, keep_succeeded,"
        " description FROM queue.job_types WHERE name = 'ticket-scan'",
    ) == [
        (
            "background",
            4,
            "scan-{ticketId}-{gate}",
            timedelta(days=1),
            "Record a ticket scanned at a venue gate.",
        )
    ]
    fields = query(
        dsn,
        "SELECT field, required FROM queue.payload_fields"
        " WHERE job_type = 'ticket-scan' ORDER BY position",
    )
    assert dict(fields) == {
        "callbackUrl": False,
        "ticketId": True,
        "gate": True,
        "venueId": False,
    }
    # A second run finds nothing to write.
    again = _cli(dsn, plugin, "migrate")
    assert (again.returncode, again.stdout) == (0, "schema is up to date\n")


def test_the_api_validates_the_plugin_type_and_a_worker_runs_its_body(
    migrated, server, plugin, tmp_path
):
    dsn, _ = migrated
    headers = _auth(Role.USER)
    job = {"queue": "background", "type": "ticket-scan"}

    status, body = post(
        f"{server}{JOBS}",
        {**job, "data": {"ticketId": "not-a-uuid", "gate": "north"}},
        headers=headers,
    )
    assert status == 422, body
    assert [e["pointer"] for e in json.loads(body)["errors"]] == ["/data/ticketId"]

    data = {"ticketId": TICKET, "gate": "north"}
    status, body = post(f"{server}{JOBS}", {**job, "data": data}, headers=headers)
    assert status == 201, body
    job_id = json.loads(body)["jobId"]
    # The plugin's key template dedupes the same scan.
    status, body = post(f"{server}{JOBS}", {**job, "data": data}, headers=headers)
    assert (status, json.loads(body)["jobId"]) == (200, job_id), body

    # background keeps no results; this one must, to show what the body returned.
    query(dsn, "UPDATE queue.queues SET keep_results = true WHERE name = 'background'")
    with worker_process(
        dsn,
        tmp_path,
        "--queues",
        "background",
        PYTHONPATH=str(plugin),
        WORKER_EXTRA_TASK_MODULES="",
    ) as worker:
        outcome = wait_for(
            lambda: (
                worker.poll() is not None
                or query(
                    dsn,
                    "SELECT status, result FROM queue.job_outcomes WHERE job_id = %s",
                    (job_id,),
                )
            ),
            timeout=60,
            what="the worker to run ticket-scan",
        )
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()

    assert outcome == [
        ("succeeded", {"scanned": TICKET, "gate": "north", "job": job_id})
    ]
    status, body = get(f"{server}{JOBS}/{job_id}", headers=headers)
    assert (status, json.loads(body)["state"]) == (200, "completed"), body


@pytest.mark.parametrize(
    "command", [["migrate"], ["worker"], ["serve", "--host", "127.0.0.1"]]
)
def test_a_plugin_taking_a_built_in_name_stops_every_process_naming_it(
    migrated, tmp_path, command
):
    dsn, _ = migrated
    broken = ticket_scan_plugin(
        tmp_path,
        {'name="ticket-scan"': 'name="send-sms"', '{"ticket-scan":': '{"send-sms":'},
    )

    run = _cli(dsn, broken, *command)

    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stderr == (
        f"queue-service: {ENTRY_POINT}: job type send-sms is taken: it is a built-in"
        " job type of queue-service (app/domain/job_types.py)\n"
    )


def test_a_worker_whose_plugin_body_cannot_be_imported_exits_naming_it(
    migrated, tmp_path
):
    dsn, _ = migrated
    broken = ticket_scan_plugin(tmp_path)
    (broken / TICKET_SCAN_PACKAGE / "tasks.py").write_text("import scanner_sdk\n")

    run = _cli(dsn, broken, "worker", "--queues", "background")

    assert run.returncode == 2, run.stdout + run.stderr
    assert (
        f"queue-service: {ENTRY_POINT}: the task body of ticket-scan,"
        " ticket_scan_jobs.tasks:ticket_scan, cannot be imported:"
        " ModuleNotFoundError: No module named 'scanner_sdk'\n"
    ) in run.stderr


def test_migrate_refuses_a_plugin_type_on_a_queue_that_does_not_exist(
    admin_dsn, template_db, tmp_path
):
    name = database.clone_template(admin_dsn)
    dsn = database.dsn_for(admin_dsn, name)
    try:
        plugin = ticket_scan_plugin(
            tmp_path, {'queue="background"': 'queue="ticket-scans"'}
        )

        run = _cli(dsn, plugin, "migrate")

        assert run.returncode == 1, run.stdout + run.stderr
        assert run.stderr.endswith(
            f"queue-service: job type ticket-scan ({ENTRY_POINT}) names queue"
            " ticket-scans, which queue.queues does not have (it has: background,"
            " communication, maintenance, money); add it there first, or name one"
            " of these\n"
        )
        assert (
            query(dsn, "SELECT 1 FROM queue.job_types WHERE name = 'ticket-scan'") == []
        )
    finally:
        database.drop_database(admin_dsn, name)
