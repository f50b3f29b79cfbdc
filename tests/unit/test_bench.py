"""The benchmarks' command line: `python -m bench NAME`, outside the product."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser
from bench.__main__ import build_parser as build_bench_parser

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = (
    "enqueue",
    "http",
    "drain",
    "overview",
    "console",
    "metrics",
    "sql",
    "providers",
    "keys",
)


def _subcommands(parser) -> set[str]:
    [choices] = [
        action.choices for action in parser._actions if isinstance(action.choices, dict)
    ]
    return set(choices)


@pytest.mark.parametrize("name", BENCHMARKS)
def test_bench_help_runs_for_each_benchmark(name):
    result = subprocess.run(
        [sys.executable, "-m", "bench", name, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"python -m bench {name}" in result.stdout


def test_bench_parser_keeps_the_options_and_defaults_of_queue_service_bench():
    parser = build_bench_parser()
    assert _subcommands(parser) == set(BENCHMARKS)
    defaults = {
        "enqueue": {"jobs": 20_000, "single": 2_000},
        "http": {"api_workers": 1},
        "drain": {
            "jobs": 20_000,
            "kind": "both",
            "best_concurrency": 50,
            "raw": True,
            "graphile": None,
            "backlog": None,
            "runs": 1,
        },
        "overview": {"finished": 1_000_000, "waiting": 10_000},
        "console": {"finished": 1_000_000, "waiting": 10_000},
        "metrics": {"days": 30, "outcomes": 1_000_000},
        "sql": {"backlogs": [2_000, 20_000, 100_000], "batches": [50, 200, 1_000]},
        "providers": {"jobs": 5_000, "processes": 1},
        "keys": {"limit": 4, "processes": 2},
    }
    for name, expected in defaults.items():
        args = vars(parser.parse_args([name]))
        assert {key: args[key] for key in expected} == expected, name
    assert parser.parse_args(["drain", "--jobs", "2000"]).jobs == 2000
    drain = parser.parse_args(
        "drain --no-raw --kind noop --backlog 1_000_000 --runs 3"
        " --graphile /work/peers-copy/peers --best-concurrency 40".split()
    )
    assert (drain.raw, drain.kind, drain.backlog, drain.runs) == (
        False,
        "noop",
        1_000_000,
        3,
    )
    assert (drain.graphile, drain.best_concurrency) == (
        Path("/work/peers-copy/peers"),
        40,
    )
    assert parser.parse_args(["sql", "--backlogs", "1_000_000"]).backlogs == [1_000_000]


def test_bench_without_database_url_says_what_it_needs(monkeypatch):
    from bench.__main__ import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="DATABASE_URL is not set"):
        main(["overview"])


def test_queue_service_has_no_bench_subcommand():
    assert "bench" not in _subcommands(build_parser())


def test_bench_drain_refuses_a_zero_count():
    with pytest.raises(SystemExit):
        build_bench_parser().parse_args(["drain", "--runs", "0"])


# --- python -m bench drain: the pure parts -----------------------------------

STAT_TAIL = "S 41 41 41 0 -1 4194560 900 0 0 0 {ut} {st} {cut} {cst} 20 0 1 0 99 1 2"


def _stat_line(pid: int, comm: str, ppid: int, ticks: tuple[int, int, int, int]) -> str:
    ut, st, cut, cst = ticks
    tail = STAT_TAIL.format(ut=ut, st=st, cut=cut, cst=cst).split()
    tail[1] = str(ppid)
    return f"{pid} ({comm}) {' '.join(tail)}\n"


def test_parse_stat_counts_fields_from_the_last_parenthesis():
    from bench.drain_measure import ProcStat, parse_stat

    line = _stat_line(7, "we(ird) name", 3, (11, 22, 33, 44))
    assert parse_stat(line) == ProcStat(pid=7, comm="we(ird) name", ppid=3, ticks=110)


def test_parse_stat_reads_a_real_line_of_this_process():
    import os

    from bench.drain_measure import parse_stat

    stat = parse_stat(Path(f"/proc/{os.getpid()}/stat").read_text())
    assert (stat.pid, stat.ppid) == (os.getpid(), os.getppid())
    assert stat.ticks >= 0


def test_tree_ticks_sums_roots_and_live_descendants_only():
    from bench.drain_measure import ProcStat, tree_ticks

    stats = [
        ProcStat(10, "python", 1, 100),
        ProcStat(11, "python", 10, 5),
        ProcStat(12, "sh", 11, 1),
        ProcStat(20, "python", 1, 1000),
        ProcStat(30, "postgres", 1, 7),
    ]
    assert tree_ticks(stats, [10]) == 106
    assert tree_ticks(stats, [10, 11]) == 106  # a root inside another counts once
    assert tree_ticks(stats, [10, 99]) == 106  # a gone root counts nothing


def test_postgres_ticks_counts_every_postgres_process():
    from bench.drain_measure import ProcStat, postgres_ticks

    stats = [
        ProcStat(1, "postgres", 0, 50),
        ProcStat(2, "postgres", 1, 3),
        ProcStat(3, "postgres-exporter", 0, 900),
        ProcStat(4, "python", 0, 900),
    ]
    assert postgres_ticks(stats) == 53


def test_read_stats_skips_what_is_not_a_process_or_is_gone(tmp_path):
    from bench.drain_measure import ProcStat, read_stats

    (tmp_path / "12").mkdir()
    (tmp_path / "12" / "stat").write_text(_stat_line(12, "postgres", 1, (1, 2, 3, 4)))
    (tmp_path / "13").mkdir()  # exited between the listing and the read
    (tmp_path / "self").mkdir()
    (tmp_path / "uptime").write_text("1.0 2.0\n")
    assert read_stats(tmp_path) == [ProcStat(12, "postgres", 1, 10)]


def test_cpu_snapshot_difference_is_in_seconds():
    from bench.drain_measure import CLOCK_TICKS_PER_S, CpuSnapshot

    before = CpuSnapshot(workers=100, postgres=50)
    after = CpuSnapshot(
        workers=100 + 2 * CLOCK_TICKS_PER_S, postgres=50 + CLOCK_TICKS_PER_S
    )
    assert after.seconds_since(before) == (2.0, 1.0)


def test_vmrss_comes_from_the_status_file(tmp_path):
    from bench.drain_measure import parse_vmrss_kib, vmrss_kib

    assert (
        parse_vmrss_kib("Name:\tpython\nVmHWM:\t  9000 kB\nVmRSS:\t  8123 kB\n") == 8123
    )
    assert parse_vmrss_kib("Name:\tzombie\nState:\tZ (zombie)\n") is None
    (tmp_path / "5").mkdir()
    (tmp_path / "5" / "status").write_text("VmRSS:\t 42 kB\n")
    assert vmrss_kib(5, tmp_path) == 42
    assert vmrss_kib(6, tmp_path) is None


def test_rss_sampler_keeps_the_largest_sample_of_each_process():
    import os

    from bench.drain_measure import RssSampler

    with RssSampler([os.getpid(), 2**22 + 1], every_s=0.01) as sampler:
        pass
    mine, gone = sampler.largest_kib
    assert mine > 1000
    assert gone == 0


def test_median_run_takes_each_figure_on_its_own():
    from bench.drain_run import DrainRun, median_run

    runs = [
        DrainRun(1000, 2.0, 1.0, 3.0, (100, 200)),
        DrainRun(1000, 1.0, 5.0, 1.0, (300, 100)),
        DrainRun(1000, 4.0, 2.0, 2.0, (200, 300)),
    ]
    assert median_run(runs) == DrainRun(1000, 2.0, 2.0, 2.0, (200, 200))
    assert median_run(runs[:2]) == DrainRun(1000, 1.5, 3.0, 2.0, (200, 150))
    assert median_run(runs[:1]) == runs[0]
    with pytest.raises(ValueError):
        median_run([])


def test_drain_run_rates_and_cpu_per_job():
    from bench.drain_run import DrainRun

    run = DrainRun(jobs=2000, seconds=0.5, worker_cpu_s=0.4, postgres_cpu_s=0.6)
    assert run.rate == 4000
    assert (run.worker_ms_per_job, run.postgres_ms_per_job) == (0.2, 0.3)
    assert run.total_ms_per_job == pytest.approx(0.5)


def test_the_analytics_kind_is_the_catalogued_type_with_valid_payloads():
    from app.domain.job_types import CATALOGUE, validate_payload
    from bench.drain_run import ANALYTICS, NOOP

    assert ANALYTICS.job_type == "analytics-track"
    assert ANALYTICS.queue == CATALOGUE["analytics-track"].queue == "background"
    for index in (0, 1, 49_999):
        validate_payload("analytics-track", ANALYTICS.payload(index))
    assert ANALYTICS.held == "background-held"
    assert (NOOP.queue, NOOP.job_type, NOOP.payload(3)) == ("bench", "bench-noop", {})


def _prepared_harness(root: Path) -> Path:
    from bench import drain_peers

    for path in (drain_peers.NODE, drain_peers.SCRIPT):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("")
    (root / drain_peers.PACKAGE).parent.mkdir(parents=True, exist_ok=True)
    (root / drain_peers.PACKAGE).write_text('{"version": "0.18.0"}')
    return root


def test_plan_runs_ours_for_every_kind_and_the_peers_for_noop_only(tmp_path):
    from bench.drain import DrainOptions, plan

    shipped = {"bench": 10, "background": 10}
    options = DrainOptions(graphile=_prepared_harness(tmp_path), best_concurrency=40)
    rows = [
        (c.kind.name, c.name, c.setting, c.role)
        for c in plan(options, "dbname=x", shipped)
    ]
    assert rows == [
        ("noop", "ours, shipped defaults", "2 x 10", "defaults"),
        ("noop", "ours, best setting", "2 x 40", "best"),
        ("noop", "raw procrastinate", "2 x 10", "peer"),
        ("noop", "graphile-worker 0.18.0", "2 x 24, perf preset", "peer"),
        ("analytics-track", "ours, shipped defaults", "2 x 10", "defaults"),
        ("analytics-track", "ours, best setting", "2 x 40", "best"),
    ]
    only = plan(DrainOptions(kind="analytics-track"), "dbname=x", shipped)
    assert [c.kind.name for c in only] == ["analytics-track"] * 2
    no_raw = plan(DrainOptions(kind="noop", raw=False), "dbname=x", shipped)
    assert [c.role for c in no_raw] == ["defaults", "best"]


def test_an_unprepared_harness_says_how_to_prepare_one(tmp_path):
    from bench.drain_peers import check_harness

    with pytest.raises(SystemExit, match=r"setup\.sh"):
        check_harness(tmp_path)
    assert check_harness(_prepared_harness(tmp_path)) == "0.18.0"


def test_conninfo_url_gives_node_postgres_a_url():
    from bench.drain_peers import conninfo_url

    assert (
        conninfo_url("host=db.example.com port=5433 user=postgres dbname=queue_bench")
        == "postgresql://postgres@db.example.com:5433/queue_bench"
    )
    assert (
        conninfo_url(
            "host=localhost dbname=x user=bench password='p@ss/w' sslmode=require"
        )
        == "postgresql://bench:p%40ss%2Fw@localhost/x?sslmode=require"
    )
    assert (
        conninfo_url("host=/run/postgresql dbname=x user=me")
        == "postgresql://me@/x?host=%2Frun%2Fpostgresql"
    )


GRAPHILE_STDOUT = """2 procs, documented perf preset {
  bulk: 52105.39820548861,
  drain: 27783.194762162355,
  cpu: { wall_s: 0.719859619140625, worker_cpu_s: 0.632, pg_cpu_s: 0.5699999999999932 }
}
"""


def test_parse_drain_reads_the_harness_output():
    from bench.drain_peers import parse_drain
    from bench.drain_run import DrainRun

    run = parse_drain(GRAPHILE_STDOUT, "", 20_000)
    assert run == DrainRun(20_000, 0.719859619140625, 0.632, 0.5699999999999932)
    stderr = "   drain wall 0.70s, worker cpu 0.59s, postgres cpu 0.56s\n"
    assert parse_drain("", stderr, 20_000) == DrainRun(20_000, 0.70, 0.59, 0.56)
    with pytest.raises(RuntimeError, match="no drain figures"):
        parse_drain("nothing", "", 20_000)


def test_ratio_lines_compare_shipped_defaults_with_each_peer_of_its_kind():
    from bench.drain_report import Row, ratio_lines
    from bench.drain_run import DrainRun

    ours = DrainRun(1000, 1.0, 0.5, 0.5)
    rows = [
        Row("noop", "ours, shipped defaults", "2 x 10", "defaults", ours),
        Row("noop", "ours, best setting", "2 x 50", "best", DrainRun(1000, 0.5, 1, 1)),
        Row(
            "noop",
            "graphile-worker 0.18.0",
            "2 x 24",
            "peer",
            DrainRun(1000, 0.25, 0.25, 0),
        ),
        Row("analytics-track", "ours, shipped defaults", "2 x 10", "defaults", ours),
    ]
    assert ratio_lines(rows) == [
        "noop: ours shipped defaults / graphile-worker 0.18.0: 0.25x jobs/s, 4.00x CPU per job"
    ]


def test_percentiles_are_in_milliseconds():
    from bench.drain_report import percentiles

    p50, p95, p99 = percentiles([i / 1000 for i in range(1, 101)])
    assert (round(p50, 2), round(p95, 2), round(p99, 2)) == (50.5, 95.05, 99.01)
