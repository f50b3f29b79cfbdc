"""The docs site (mkdocs.yml, docs/) builds strict and offline, and the check can fail."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "mkdocs.yml"
DOCS = REPO / "docs"
README = REPO / "README.md"

# Pages under docs/ deliberately left out of the nav, each with its reason; mkdocs.yml
# lists the same names under `not_in_nav`, or its strict build refuses them.
NOT_IN_NAV: dict[str, str] = {}

# Loaded before mkdocs by the build's interpreter: any socket to a host or any name
# lookup raises, so a build that reaches for the network fails instead of waiting.
_NO_NETWORK = """\
import socket

def _refuse(*args, **kwargs):
    raise OSError("the docs build must not use the network")

_connect = socket.socket.connect

def _connect_local_only(self, address):
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _refuse()
    return _connect(self, address)

socket.socket.connect = _connect_local_only
socket.socket.connect_ex = _connect_local_only
socket.create_connection = _refuse
socket.getaddrinfo = _refuse
"""


def _build(root: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    guard = tmp_path / "no_network"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_NO_NETWORK)
    env = {
        **os.environ,
        "PYTHONPATH": str(guard),
        "NO_MKDOCS_2_WARNING": "1",  # Material's end-of-life banner
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--config-file",
            str(root / "mkdocs.yml"),
            "--site-dir",
            str(tmp_path / "site"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _nav_pages(entry: object) -> set[str]:
    if isinstance(entry, str):
        return {entry}
    if isinstance(entry, list):
        return set().union(*(_nav_pages(item) for item in entry))
    if isinstance(entry, dict):
        return set().union(*(_nav_pages(value) for value in entry.values()))
    return set()


def test_docs_site_builds_strict_without_network(tmp_path):
    result = _build(REPO, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "concepts" / "index.html").is_file()


def test_docs_site_build_fails_on_a_broken_link(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(CONFIG, root / "mkdocs.yml")
    shutil.copytree(DOCS, root / "docs")
    page = root / "docs" / "cli.md"
    page.write_text(page.read_text() + "\nSee [the old page](retired-page.md).\n")

    result = _build(root, tmp_path)

    assert result.returncode != 0
    assert (
        "Doc file 'cli.md' contains a link 'retired-page.md', but the target is not found"
        in result.stderr
    ), result.stderr


def test_every_docs_page_is_in_the_nav():
    config = yaml.safe_load(CONFIG.read_text())
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    in_nav = _nav_pages(config["nav"])
    assert in_nav - pages == set(), "nav entries without a page"
    assert pages - in_nav - set(NOT_IN_NAV) == set(), "pages missing from the nav"
    assert set(NOT_IN_NAV) & in_nav == set()
    assert set(config.get("not_in_nav", "").split()) == set(NOT_IN_NAV)


def test_readme_links_resolve():
    # The README is outside docs/, so the site's build does not check its links.
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README.read_text())
    local = [t for t in targets if not t.startswith(("http://", "https://"))]
    assert local, "the README links to no page"
    assert [t for t in local if not (REPO / t).exists()] == []


def test_home_page_is_the_readme_front_page():
    readme = README.read_text().split("\n## Documentation\n", 1)[0]
    home = (DOCS / "index.md").read_text().split("\n## Documentation\n", 1)[0]
    assert home == readme.replace("](docs/", "](")
