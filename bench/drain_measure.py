"""CPU and memory of the drain benchmark, read from /proc (Linux only).

CPU is counted in clock ticks from `/proc/<pid>/stat`: utime + stime and
cutime + cstime, the last two so that a process that exits inside the timed
window still counts (its ticks move to its parent once it is reaped: a
backend's to the postmaster, a worker's child to the worker). Deltas are taken
between two snapshots of sums, so processes may appear and disappear between
them. Postgres is every process whose command is `postgres` (backends and
background processes alike), whoever started it: on a shared machine other
people's queries count too, so run the benchmark on a quiet one.

Memory is VmRSS from `/proc/<pid>/status`, sampled by a thread every 0.5 s;
the figure kept is each process's largest sample.
"""

import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
CLOCK_TICKS_PER_S = os.sysconf("SC_CLK_TCK")
RSS_EVERY_S = 0.5


@dataclass(frozen=True)
class ProcStat:
    """What the benchmark needs of one `/proc/<pid>/stat` line."""

    pid: int
    comm: str
    ppid: int
    ticks: int  # utime + stime + cutime + cstime


def parse_stat(line: str) -> ProcStat:
    """Parse a `/proc/<pid>/stat` line.

    The command sits between the first `(` and the last `)` and may itself
    hold spaces and parentheses, so the fields are counted from that `)`.
    """
    head, _, rest = line.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = rest.split()
    # fields[0] is the state (stat field 3): ppid is field 4, utime..cstime 14..17.
    return ProcStat(
        pid=int(pid_text),
        comm=comm,
        ppid=int(fields[1]),
        ticks=sum(int(value) for value in fields[11:15]),
    )


def read_stats(proc: Path = PROC) -> list[ProcStat]:
    """Return every process's stat, skipping those that exit while being read."""
    stats = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats.append(parse_stat((entry / "stat").read_text()))
        except (OSError, ValueError, IndexError):
            continue  # gone between the listing and the read
    return stats


def tree_ticks(stats: Iterable[ProcStat], roots: Iterable[int]) -> int:
    """Return the ticks of `roots` and of every live descendant of theirs."""
    by_parent: dict[int, list[ProcStat]] = {}
    by_pid: dict[int, ProcStat] = {}
    for stat in stats:
        by_pid[stat.pid] = stat
        by_parent.setdefault(stat.ppid, []).append(stat)
    total = 0
    seen: set[int] = set()
    todo = [by_pid[pid] for pid in roots if pid in by_pid]
    while todo:
        stat = todo.pop()
        if stat.pid in seen:
            continue
        seen.add(stat.pid)
        total += stat.ticks
        todo.extend(by_parent.get(stat.pid, ()))
    return total


def postgres_ticks(stats: Iterable[ProcStat]) -> int:
    """Return the ticks of every process whose command is `postgres`."""
    return sum(stat.ticks for stat in stats if stat.comm == "postgres")


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU used so far, in clock ticks, by the workers and by Postgres."""

    workers: int
    postgres: int

    def seconds_since(self, earlier: "CpuSnapshot") -> tuple[float, float]:
        """Return (worker, Postgres) CPU seconds from `earlier` to this one."""
        return (
            (self.workers - earlier.workers) / CLOCK_TICKS_PER_S,
            (self.postgres - earlier.postgres) / CLOCK_TICKS_PER_S,
        )


def cpu_snapshot(worker_pids: Sequence[int]) -> CpuSnapshot:
    """Read the workers' (with descendants) and Postgres's CPU from one pass over /proc."""
    stats = read_stats()
    return CpuSnapshot(
        workers=tree_ticks(stats, worker_pids), postgres=postgres_ticks(stats)
    )


def parse_vmrss_kib(status: str) -> int | None:
    """Return VmRSS in KiB from a `/proc/<pid>/status` text (None for a zombie)."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None


def vmrss_kib(pid: int, proc: Path = PROC) -> int | None:
    """Return a process's resident memory in KiB, or None if it is gone."""
    try:
        return parse_vmrss_kib((proc / str(pid) / "status").read_text())
    except OSError:
        return None


class RssSampler:
    """Sample the VmRSS of some processes every 0.5 s in a thread, keeping the largest.

    A thread, not the event loop or the drain's poll: the poll runs every 20 ms
    and must not wait for a sample, nor a sample for the poll.
    """

    def __init__(self, pids: Sequence[int], every_s: float = RSS_EVERY_S) -> None:
        self._pids = tuple(pids)
        self._every_s = every_s
        self._largest = dict.fromkeys(self._pids, 0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def _sample(self) -> None:
        for pid in self._pids:
            rss = vmrss_kib(pid)
            if rss is not None:
                self._largest[pid] = max(self._largest[pid], rss)

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self._every_s):
                return

    @property
    def largest_kib(self) -> tuple[int, ...]:
        """Return each process's largest sample, in the order given."""
        return tuple(self._largest[pid] for pid in self._pids)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()  # the last moment counts too
