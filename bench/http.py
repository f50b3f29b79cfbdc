"""`python -m bench http`: POST /jobs from 50 concurrent connections for 10 s.

The API runs as a real `queue-service serve` process on a scratch database;
the client runs in another process, keeps its connections alive, and sends
each request as soon as the previous answer on that connection arrived; the
load runs three times and the run with the median p95 is reported. Each
connection is its own user (the per-user rate limit stays on, with a limit
the run cannot reach, so its cost is measured; BENCH_API_RATE_LIMIT=0 turns it
off to measure without it). Reports requests per second and latency
percentiles.
"""

import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import timedelta

from bench.processes import child_env
from bench.scratch_db import scratch_database

CONNECTIONS = 50
RUNS = 3
DURATION_S = 10.0
SECRET = "bench-secret-" + uuid.uuid4().hex


@dataclass(frozen=True)
class HttpFigures:
    """What one run measured."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Return requests per second."""
        return self.requests / self.seconds


async def _connection(
    host: str,
    port: int,
    token: str,
    deadline: float,
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            body = json.dumps(
                {
                    "queue": "background",
                    "type": "analytics-track",
                    "data": {"eventType": "bench", "properties": {"n": n}},
                }
            ).encode()
            request = (
                f"POST /api/v1/queue/jobs HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not status_line.startswith(b"HTTP/1.1 201"):
                errors.append(int(status_line.split()[1]))
    finally:
        writer.close()


async def _client(url: str, tokens: list[str], duration_s: float) -> dict[str, object]:
    host, port = url.removeprefix("http://").split(":")
    latencies: list[float] = []
    errors: list[int] = []
    started = time.perf_counter()
    deadline = started + duration_s
    await asyncio.gather(
        *(
            _connection(host, int(port), token, deadline, latencies, errors)
            for token in tokens
        )
    )
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "errors": len(errors),
        "seconds": seconds,
        "p50_ms": cuts[49] * 1000,
        "p95_ms": cuts[94] * 1000,
        "p99_ms": cuts[98] * 1000,
        "error_codes": sorted(set(errors))[:5],
    }


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health/live", timeout=2) as response:  # noqa: S310 - our local server
            return bool(response.status == 200)
    except OSError:
        return False


def run_http_bench(dsn: str, *, port: int = 3021, api_workers: int = 1) -> HttpFigures:
    """Serve the API on a scratch database and load it from a separate client process."""
    from app.api.auth import issue_token
    from app.domain.access import Role

    tokens = [
        issue_token(
            secret=SECRET, role=Role.USER, sub=f"bench-{i}", ttl=timedelta(minutes=10)
        )
        for i in range(CONNECTIONS)
    ]
    with scratch_database(dsn) as scratch:
        env = child_env(
            {
                "DATABASE_URL": scratch,
                "JWT_SECRET": SECRET,
                "PORT": str(port),
                "API_RATE_LIMIT_PER_MINUTE": os.environ.get(
                    "BENCH_API_RATE_LIMIT", "100000000"
                ),
                "LOG_LEVEL": "WARNING",
                "QUEUE_ENV": "prod",
                "DB_POOL_MAX_SIZE": "20",
            }
        )
        # Our own interpreter and CLI: no outside input.
        server = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "app.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--workers",
                str(api_workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                if _answers(url):
                    break
                time.sleep(0.1)
            runs = [
                json.loads(
                    subprocess.run(  # noqa: S603 - our own client module
                        [
                            sys.executable,
                            "-m",
                            "bench.http",
                            "client",
                            url,
                            str(DURATION_S),
                        ],
                        input="\n".join(tokens),
                        env=child_env({}),
                        capture_output=True,
                        text=True,
                        check=True,
                        timeout=120,
                    ).stdout
                )
                for _ in range(RUNS)
            ]
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    # The run with the median p95 stands for all three.
    result = sorted(runs, key=lambda run: float(run["p95_ms"]))[RUNS // 2]
    figures = HttpFigures(
        result["requests"],
        result["errors"],
        result["seconds"],
        result["p50_ms"],
        result["p95_ms"],
        result["p99_ms"],
    )
    print(
        f"POST /api/v1/queue/jobs, {CONNECTIONS} connections (one user each), {DURATION_S:.0f} s, "
        f"{api_workers} API process(es), client in its own process; the median-p95 run of {RUNS}"
    )
    for run in runs:
        print(
            f"  run: {run['requests'] / run['seconds']:,.0f} req/s  p50 {run['p50_ms']:.1f}  "
            f"p95 {run['p95_ms']:.1f}  p99 {run['p99_ms']:.1f} ms"
        )
    print(
        f"requests {figures.requests:,}  errors {figures.errors}  {figures.rate:,.0f} req/s  "
        f"p50 {figures.p50_ms:.1f} ms  p95 {figures.p95_ms:.1f} ms  p99 {figures.p99_ms:.1f} ms"
    )
    if figures.errors:
        print(f"error statuses: {result['error_codes']}")
    return figures


if __name__ == "__main__":
    # `python -m bench.http client URL SECONDS`, tokens on stdin: the load
    # client, started by `run_http_bench`; the benchmark is `python -m bench http`.
    if sys.argv[1:2] != ["client"] or len(sys.argv) != 4:
        sys.exit("usage: python -m bench.http client URL SECONDS < tokens")
    tokens = [line for line in sys.stdin.read().splitlines() if line]
    print(json.dumps(asyncio.run(_client(sys.argv[2], tokens, float(sys.argv[3])))))
