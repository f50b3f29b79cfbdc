import json
import os
import subprocess

import pytest

from app.db.embedded import prune_stale_pids

PID_LIST = ".handle_pids.json"


@pytest.fixture
def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_prune_stale_pids_keeps_live_and_returns_dead(tmp_path, dead_pid):
    path = tmp_path / PID_LIST
    path.write_text(json.dumps([os.getpid(), dead_pid]))
    assert prune_stale_pids(tmp_path) == [dead_pid]
    assert json.loads(path.read_text()) == [os.getpid()]


def test_prune_stale_pids_leaves_file_alone_when_all_alive(tmp_path):
    path = tmp_path / PID_LIST
    text = json.dumps([os.getpid()])
    path.write_text(text)
    assert prune_stale_pids(tmp_path) == []
    assert path.read_text() == text


def test_prune_stale_pids_missing_file_returns_nothing(tmp_path):
    assert prune_stale_pids(tmp_path) == []
    assert not (tmp_path / PID_LIST).exists()


@pytest.mark.parametrize("text", ["{not json", '["abc"]', "[null]"])
def test_prune_stale_pids_corrupt_file_is_removed(tmp_path, text):
    path = tmp_path / PID_LIST
    path.write_text(text)
    assert prune_stale_pids(tmp_path) == []
    assert not path.exists()
