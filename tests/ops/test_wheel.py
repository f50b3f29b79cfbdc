"""The wheel ships the product (app, workers, the SQL as app/_sql) and never bench/ or tests/."""

import subprocess
import zipfile

import pytest

from tests.ops.binaries import REPO


def test_wheel_holds_app_workers_and_sql_but_not_bench(tmp_path):
    uv = REPO / ".tools" / "bin" / "uv"
    if not uv.is_file():
        pytest.fail(
            "the pinned uv is not in .tools/: run `make install`", pytrace=False
        )
    result = subprocess.run(
        [str(uv), "build", "--wheel", "--out-dir", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [wheel] = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    packages = {name.split("/")[0] for name in names} - {
        name.split("/")[0] for name in names if ".dist-info/" in name
    }
    assert packages == {"app", "workers"}
    assert "app/_sql/queries/jobs.sql" in names
    assert [name for name in names if "bench" in name] == []
