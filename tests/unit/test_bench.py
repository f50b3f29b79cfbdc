"""The benchmarks' command line: `python -m bench NAME`, outside the product."""

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import build_parser
from bench.__main__ import build_parser as build_bench_parser

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = ("enqueue", "http", "drain", "overview", "metrics", "sql", "providers")


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
        "drain": {"jobs": 20_000},
        "overview": {"finished": 1_000_000, "waiting": 10_000},
        "metrics": {"days": 30, "outcomes": 1_000_000},
        "sql": {"backlogs": [2_000, 20_000, 100_000], "batches": [50, 200, 1_000]},
        "providers": {"jobs": 5_000, "processes": 1},
    }
    for name, expected in defaults.items():
        args = vars(parser.parse_args([name]))
        assert {key: args[key] for key in expected} == expected, name
    assert parser.parse_args(["drain", "--jobs", "2000"]).jobs == 2000
    assert parser.parse_args(["sql", "--backlogs", "1_000_000"]).backlogs == [1_000_000]


def test_bench_without_database_url_says_what_it_needs(monkeypatch):
    from bench.__main__ import main

    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(SystemExit, match="DATABASE_URL is not set"):
        main(["overview"])


def test_queue_service_has_no_bench_subcommand():
    assert "bench" not in _subcommands(build_parser())
