"""The tables `python -m bench drain` prints, apart from how the figures were made."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bench.drain_run import DrainRun

Role = Literal["defaults", "best", "peer"]
_ROW = (
    "{kind:<16} {label:<46} {seconds:>8} {rate:>9} {worker:>9} {postgres:>9} {total:>9}"
)


def percentiles(values: Sequence[float]) -> tuple[float, float, float]:
    """Return p50, p95 and p99 of `values` (seconds) in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


@dataclass(frozen=True)
class Row:
    """One printed drain: what drained which kind, how it was set, and the figures."""

    kind: str
    name: str
    setting: str
    role: Role
    run: DrainRun

    @property
    def label(self) -> str:
        """Return the workers column: name and setting."""
        return f"{self.name} ({self.setting})"


def _header() -> str:
    return _ROW.format(
        kind="kind",
        label="workers",
        seconds="seconds",
        rate="jobs/s",
        worker="worker",
        postgres="postgres",
        total="total",
    )


def drain_row(kind: str, label: str, run: DrainRun) -> str:
    """Return one row: time, rate, and CPU ms per job (workers, Postgres, both)."""
    return _ROW.format(
        kind=kind,
        label=label,
        seconds=f"{run.seconds:.2f}",
        rate=f"{run.rate:,.0f}",
        worker=f"{run.worker_ms_per_job:.3f}",
        postgres=f"{run.postgres_ms_per_job:.3f}",
        total=f"{run.total_ms_per_job:.3f}",
    )


def ratio_lines(rows: Sequence[Row]) -> list[str]:
    """Return ours at shipped defaults against each peer that drained the same kind."""
    return [
        f"{ours.kind}: ours shipped defaults / {peer.name}: "
        f"{ours.run.rate / peer.run.rate:.2f}x jobs/s, "
        f"{ours.run.total_ms_per_job / peer.run.total_ms_per_job:.2f}x CPU per job"
        for ours in rows
        if ours.role == "defaults"
        for peer in rows
        if peer.role == "peer" and peer.kind == ours.kind
    ]


def print_drains(rows: Sequence[Row], repeats: int) -> None:
    """Print the drain table and the ratios to the peers."""
    jobs = max(row.run.jobs for row in rows)
    print(
        f"drain: {jobs:,} jobs, 2 processes each; workers started first, the backlog "
        "released to them and timed from one wake-up NOTIFY until none is todo or "
        f"doing; median of {repeats} run(s); CPU in ms per job"
    )
    print(_header())
    for row in rows:
        print(drain_row(row.kind, row.label, row.run))
    for line in ratio_lines(rows):
        print(line)


def print_backlog(row: Row, repeats: int) -> None:
    """Print the large-backlog drain with each worker's largest resident memory."""
    print(
        f"\nbacklog: {row.run.jobs:,} {row.kind} jobs, median of {repeats} run(s); "
        "CPU in ms per job"
    )
    print(_header())
    print(drain_row(row.kind, row.label, row.run))
    rss = ", ".join(f"{kib / 1024:,.0f}" for kib in row.run.max_rss_kib)
    print(f"max resident memory per worker process (VmRSS, MiB): {rss}")


def print_latency(
    latencies: Sequence[tuple[str, Sequence[float]]], jobs: int, gap_s: float
) -> None:
    """Print p50/p95/p99 of the enqueue→start waits, one row per worker."""
    print(
        f"\nenqueue→start latency over {jobs} jobs sent {gap_s * 1000:.0f} ms apart "
        "to one idle worker process (ms)"
    )
    print(f"{'':<36} {'p50':>7} {'p95':>7} {'p99':>7}")
    for name, waits in latencies:
        p50, p95, p99 = percentiles(waits)
        print(f"{name:<36} {p50:>7.1f} {p95:>7.1f} {p99:>7.1f}")
