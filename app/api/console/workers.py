"""Workers: every registered lane, the queues it serves, its heartbeat, its jobs.

Read-only. A lane's row (`procrastinate_workers`) goes when it stops or when
the prune finds it stalled; until then the page flags it stalled as the
rescue would (`settings.worker.stalled_after_s`, with the database's clock).
Each lane lists the first of the jobs it runs now, with how many in all.
"""

from typing import Any

from litestar import Request, get
from litestar.response import Template

from app.api.console.session import PATH
from app.api.context import AppSettings, Conn
from app.services import worker_status

WORKERS = f"{PATH}/workers"


@get(WORKERS, include_in_schema=False)
async def workers(
    request: Request[Any, Any, Any], conn: Conn, settings: AppSettings
) -> Template:
    """The registered workers, oldest first, with what each runs now."""
    stalled_after_s = settings.worker.stalled_after_s
    read = await worker_status.list_workers(conn, stalled_after_s=stalled_after_s)
    return Template(
        "workers.html",
        context={
            "workers": read.workers,
            "more": read.more,
            "worker_limit": worker_status.WORKER_LIMIT,
            "stalled_after_s": stalled_after_s,
            "notice": request.query_params.get("notice"),
        },
    )


HANDLERS = [workers]
