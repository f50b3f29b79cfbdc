"""Typed wrapper of `sql/queries/progress.sql`: a running job's progress."""

from app.db import Connection
from app.db.queries import fetch_value


async def report_progress(
    conn: Connection, *, job_id: int, percent: float, message: str
) -> bool:
    """Record the progress of a running job; return False when it is not running."""
    params = {"job_id": job_id, "percent": percent, "message": message}
    return bool(await fetch_value(conn, "report_progress", params))
