"""Job-type plugin distributions for tests, written into a directory.

`write_plugin(root, ...)` writes a package under `root` and, beside it, its
`<dist>-0.1.dist-info/` (METADATA, entry_points.txt): importlib.metadata
finds the plugin once `root` is on `sys.path` (PYTHONPATH for a process),
as it finds an installed distribution. `ticket_scan_plugin` is a complete,
valid plugin: one type, `ticket-scan` on `background`, with its body.
"""

import importlib
import textwrap
from collections.abc import Mapping
from pathlib import Path

from app.domain.job_type_plugins import ENTRY_POINT_GROUP

TICKET_SCAN_PACKAGE = "ticket_scan_jobs"

# The plugin's domain part: what the catalogue (and so the API) imports.
TICKET_SCAN_INIT = '''
"""Ticket scans at venue gates: a job type added without forking the service."""

from datetime import timedelta

from app.domain.access import ENQUEUERS
from app.domain.job_type_plugins import JobTypePlugin
from app.domain.job_types import JobType
from app.domain.payloads import NonEmpty, Payload, Uuid


class TicketScan(Payload):
    """A ticket scanned at a gate."""

    ticket_id: Uuid
    gate: NonEmpty
    venue_id: Uuid | None = None


TICKET_SCAN = JobType(
    name="ticket-scan",
    queue="background",
    description="Record a ticket scanned at a venue gate.",
    default_priority=4,
    payload=TicketScan,
    key_template="scan-{ticketId}-{gate}",
    keep_succeeded=timedelta(days=1),
    enqueue_roles=ENQUEUERS,
)

plugin = JobTypePlugin(
    job_types=(TICKET_SCAN,),
    bodies={"ticket-scan": "ticket_scan_jobs.tasks:ticket_scan"},
)
'''

# The plugin's task body: only the worker imports it.
TICKET_SCAN_TASKS = '''
"""The body of ticket-scan."""

from typing import Any

from procrastinate.job_context import JobContext

from ticket_scan_jobs import TicketScan
from workers.tasks.payload import load_payload


async def ticket_scan(context: JobContext, data: Any, meta: Any = None) -> dict[str, Any]:
    """Return what was scanned where; safe to retry, defers nothing."""
    scan = load_payload(TicketScan, data)
    return {"scanned": str(scan.ticket_id), "gate": scan.gate, "job": context.job.id}
'''


def write_plugin(
    root: Path,
    *,
    dist: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, str],
) -> Path:
    """Write a plugin distribution under `root`; return `root`.

    `modules` maps paths relative to `root` (`pkg/__init__.py`) to their
    source; `entry_points` maps entry-point names to `module:object`, in
    group `queue_service.job_types`.
    """
    for relative, source in modules.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip())
    info = root / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n"
    )
    lines = "".join(f"{name} = {value}\n" for name, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    importlib.invalidate_caches()
    return root


def ticket_scan_plugin(
    root: Path,
    replace: Mapping[str, str] | None = None,
    *,
    dist: str = "ticket-scan-jobs",
) -> Path:
    """Write the valid ticket-scan plugin under `root`.

    `replace` swaps text of its `__init__.py` (`queue="background"` for
    another queue, say), to make a plugin that breaks one rule.
    """
    init = TICKET_SCAN_INIT
    for old, new in (replace or {}).items():
        assert old in init, old
        init = init.replace(old, new)
    return write_plugin(
        root,
        dist=dist,
        modules={
            f"{TICKET_SCAN_PACKAGE}/__init__.py": init,
            f"{TICKET_SCAN_PACKAGE}/tasks.py": TICKET_SCAN_TASKS,
        },
        entry_points={"tickets": f"{TICKET_SCAN_PACKAGE}:plugin"},
    )
