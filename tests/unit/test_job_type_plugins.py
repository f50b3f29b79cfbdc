"""Job types from other packages: found through entry points, checked like the built-ins.

Each plugin here is a real distribution in a temporary directory (a package
and its dist-info), found by importlib.metadata once the directory is on
sys.path. The tests that load plugins into the catalogue do it in a child
process, whose catalogue is its own.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import workers.tasks
from app.domain.job_type_plugins import (
    JobTypePluginError,
    find_plugins,
    job_type_problems,
)
from app.domain.job_types import BUILT_IN, CATALOGUE
from tests.helpers.plugins import TICKET_SCAN_PACKAGE, ticket_scan_plugin, write_plugin

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def on_path(tmp_path, monkeypatch):
    """Put `tmp_path` on sys.path, and forget the plugins' modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_every_built_in_type_obeys_the_rules_plugins_are_held_to():
    # The same rules as tests/unit/test_job_types.py checks of the built-ins
    # (name, priority, template grammar, provider with bucket, roles), and
    # templates naming payload fields, a model the database can check.
    assert {name: job_type_problems(e) for name, e in BUILT_IN.items()} == {
        name: [] for name in BUILT_IN
    }


def test_no_plugin_installed_finds_none_and_the_catalogue_is_the_built_ins():
    assert find_plugins() == ()
    assert dict(CATALOGUE) == dict(BUILT_IN)


def test_a_plugin_is_found_with_its_types_and_body_paths(on_path):
    ticket_scan_plugin(on_path)

    (loaded,) = find_plugins()

    assert loaded.entry_point == f"tickets = {TICKET_SCAN_PACKAGE}:plugin"
    assert loaded.distribution == "ticket-scan-jobs 0.1"
    (job_type,) = loaded.plugin.job_types
    assert (job_type.name, job_type.queue, job_type.key_template) == (
        "ticket-scan",
        "background",
        "scan-{ticketId}-{gate}",
    )
    assert dict(loaded.plugin.bodies) == {
        "ticket-scan": f"{TICKET_SCAN_PACKAGE}.tasks:ticket_scan"
    }
    # Finding loads the domain part only: no task code, nothing catalogued.
    assert f"{TICKET_SCAN_PACKAGE}.tasks" not in sys.modules
    assert "ticket-scan" not in CATALOGUE


def _error(match: str):
    return pytest.raises(JobTypePluginError, match=match)


ENTRY_POINT = (
    r"job-type plugin 'tickets = ticket_scan_jobs:plugin' of ticket-scan-jobs 0\.1"
)


def test_a_name_a_built_in_type_has_is_refused_naming_both(on_path):
    ticket_scan_plugin(
        on_path,
        {'name="ticket-scan"': 'name="send-sms"', '{"ticket-scan":': '{"send-sms":'},
    )
    with _error(
        ENTRY_POINT + r": job type send-sms is taken: it is a built-in job type of"
        r" queue-service \(app/domain/job_types\.py\)"
    ):
        find_plugins()


def test_a_name_two_plugins_define_is_refused_naming_both(on_path):
    ticket_scan_plugin(on_path / "a", dist="gate-jobs")
    ticket_scan_plugin(on_path / "b", dist="turnstile-jobs")
    sys.path[:0] = [str(on_path / "a"), str(on_path / "b")]
    try:
        with _error(
            r"'tickets = ticket_scan_jobs:plugin' of turnstile-jobs 0\.1: job type"
            r" ticket-scan is taken: it is a job type of job-type plugin"
            r" 'tickets = ticket_scan_jobs:plugin' of gate-jobs 0\.1"
        ):
            find_plugins()
    finally:
        del sys.path[:2]


@pytest.mark.parametrize(
    ("replace", "problem"),
    [
        ({'queue="background"': 'queue="Ticket Scans"'}, "queue 'Ticket Scans' is not"),
        ({'queue="background"': 'queue="tickets-queue"'}, "ends in -queue"),
        ({'name="ticket-scan"': 'name="Ticket_Scan"'}, "name 'Ticket_Scan' is not"),
        ({"default_priority=4": "default_priority=11"}, "not an integer 1-10"),
        (
            {'key_template="scan-{ticketId}-{gate}"': 'key_template="scan-{ticket}"'},
            r"key_template 'scan-\{ticket\}' names ticket, not fields of the payload",
        ),
        (
            {'key_template="scan-{ticketId}-{gate}"': 'key_template="scan-{ticketId"'},
            "is not text with",
        ),
        ({"payload=TicketScan,": "payload=dict,"}, "is not a subclass of"),
        (
            {"gate: NonEmpty": "gate: NonEmpty | int"},
            "payload TicketScan cannot be checked on enqueue: TicketScan.gate: one JSON type",
        ),
        (
            {'description="Record': 'provider="stripe", description="Record'},
            "go together",
        ),
        (
            {'queue="background"': 'queue="maintenance"'},
            "a maintenance job type may not be enqueued over HTTP",
        ),
        (
            {'"ticket-scan": "ticket_scan_jobs.tasks:ticket_scan"': ""},
            "job type ticket-scan: no task body in bodies",
        ),
        (
            {
                '"ticket-scan": "ticket_scan_jobs.tasks:ticket_scan"': '"ticket-scan": "tasks"'
            },
            "body 'tasks' is not 'module:function'",
        ),
        (
            {'bodies={"ticket': 'bodies={"other": "a:b", "ticket'},
            "bodies for job types it does not define: other",
        ),
        ({"job_types=(TICKET_SCAN,)": "job_types=()"}, "job_types is not a non-empty"),
        (
            {"job_types=(TICKET_SCAN,)": "job_types=(TICKET_SCAN, TICKET_SCAN)"},
            "job types listed twice: ticket-scan",
        ),
    ],
)
def test_a_type_that_breaks_a_rule_is_refused_naming_the_entry_point(
    on_path, replace, problem
):
    ticket_scan_plugin(on_path, replace)
    with _error(ENTRY_POINT + ": .*" + problem):
        find_plugins()


def test_a_plugin_that_cannot_be_imported_is_refused_naming_the_entry_point(on_path):
    ticket_scan_plugin(
        on_path, {"from datetime": "import ticket_scanner_sdk\nfrom datetime"}
    )
    with _error(
        ENTRY_POINT
        + " cannot be imported: ModuleNotFoundError: No module named 'ticket_scanner_sdk'"
    ):
        find_plugins()


def test_an_entry_point_naming_something_else_is_refused(on_path):
    ticket_scan_plugin(on_path)
    write_plugin(
        on_path,
        dist="ticket-scan-jobs",
        modules={},
        entry_points={"tickets": f"{TICKET_SCAN_PACKAGE}:TICKET_SCAN"},
    )
    with _error(
        "'tickets = ticket_scan_jobs:TICKET_SCAN' of ticket-scan-jobs 0.1 names a"
        " JobType, not an app.domain.job_type_plugins.JobTypePlugin"
    ):
        find_plugins()


# The worker's side: the bodies, imported from the paths the plugins give.


def test_the_worker_imports_each_plugin_body(on_path, monkeypatch):
    ticket_scan_plugin(on_path)
    found = find_plugins()
    monkeypatch.setattr(workers.tasks, "loaded_plugins", lambda: found)

    bodies = workers.tasks.plugin_bodies()

    assert list(bodies) == ["ticket-scan"]
    assert (
        bodies["ticket-scan"] is sys.modules[f"{TICKET_SCAN_PACKAGE}.tasks"].ticket_scan
    )


@pytest.mark.parametrize(
    ("tasks", "problem"),
    [
        ("import ticket_scanner_sdk\n", "cannot be imported: ModuleNotFoundError"),
        (
            "ticket_scan = 'not a function'\n",
            r"is not a function of \(context, data, meta\)",
        ),
        (
            "async def ticket_scan(context):\n    return None\n",
            r"is not a function of \(context, data, meta\)",
        ),
    ],
)
def test_a_body_the_worker_cannot_call_stops_it_naming_the_entry_point(
    on_path, monkeypatch, tasks, problem
):
    ticket_scan_plugin(on_path)
    (on_path / TICKET_SCAN_PACKAGE / "tasks.py").write_text(tasks)
    found = find_plugins()
    monkeypatch.setattr(workers.tasks, "loaded_plugins", lambda: found)
    with _error(
        ENTRY_POINT
        + r": the task body of ticket-scan, ticket_scan_jobs\.tasks:ticket_scan, "
        + problem
    ):
        workers.tasks.plugin_bodies()


# Loading into the catalogue, in a process of its own.

LOAD = """
import json, sys
from app.domain.errors import PayloadInvalid
from app.domain.job_type_plugins import JobTypePluginError, load_job_type_plugins, origin
from app.domain.job_types import CATALOGUE, may_enqueue, validate_payload
from app.domain.access import Role
try:
    first = load_job_type_plugins()
except JobTypePluginError as exc:
    print(json.dumps({"error": str(exc), "types": sorted(CATALOGUE)}))
    sys.exit(0)
second = load_job_type_plugins()
try:
    validate_payload("ticket-scan", {"ticketId": "not-a-uuid", "gate": "north"})
    pointers = []
except PayloadInvalid as exc:
    pointers = [e["pointer"] for e in exc.errors]
validate_payload("ticket-scan", {"ticketId": "0f9e4f1c-3b0a-4d0e-9f55-7f5a2f0c9b02", "gate": "north"})
print(json.dumps({
    "types": sorted(CATALOGUE),
    "once": first is second,
    "queue": CATALOGUE["ticket-scan"].queue,
    "pointers": pointers,
    "user_may_enqueue": may_enqueue(Role.USER, "ticket-scan"),
    "origin": origin("ticket-scan"),
    "task_code": sorted(m for m in sys.modules if m.endswith(".tasks") or m.startswith("workers")),
}))
"""


def _load_in_child(*path: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", LOAD],
        cwd=REPO,
        env={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.pathsep.join(map(str, path)),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)


def test_loading_adds_the_plugin_types_to_the_catalogue_once(tmp_path):
    loaded = _load_in_child(ticket_scan_plugin(tmp_path))

    assert loaded == {
        "types": sorted([*BUILT_IN, "ticket-scan"]),
        "once": True,
        "queue": "background",
        "pointers": ["/data/ticketId"],
        "user_may_enqueue": True,
        "origin": "job-type plugin 'tickets = ticket_scan_jobs:plugin' of ticket-scan-jobs 0.1",
        # The catalogue imports the plugin's domain part alone.
        "task_code": [],
    }


def test_a_broken_plugin_leaves_the_catalogue_without_any_plugin_type(tmp_path):
    good = ticket_scan_plugin(tmp_path / "good")
    broken = write_plugin(
        tmp_path / "broken",
        dist="zz-broken-jobs",
        modules={"broken_jobs/__init__.py": "raise RuntimeError('no config')\n"},
        entry_points={"broken": "broken_jobs:plugin"},
    )

    loaded = _load_in_child(good, broken)

    assert loaded == {
        "error": "job-type plugin 'broken = broken_jobs:plugin' of zz-broken-jobs 0.1"
        " cannot be imported: RuntimeError: no config",
        "types": sorted(BUILT_IN),
    }
