"""docs/operations.md "Configuration" maps every variable of the old service's documented blocks."""

import re
from pathlib import Path

from tests.unit.test_settings_old_variables import OLD_NAMES, SAME_NAMES


def test_the_configuration_docs_map_every_old_variable():
    docs = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
    configuration = docs.read_text().split("\n## Configuration\n", 1)[1]
    table = configuration.split("\n## ", 1)[0].split(
        "| old variable | read as |\n|---|---|\n", 1
    )[1]
    rows = {}
    for line in table.splitlines():
        if not line.startswith("| "):
            break
        names, read_as = line.removeprefix("| ").removesuffix(" |").split(" | ")
        for name in re.findall(r"`([A-Z0-9_]+)`", names.split(" (")[0]):
            rows[name] = read_as
    assert set(rows) == set(OLD_NAMES) | SAME_NAMES
    for old, new in OLD_NAMES.items():
        if new is None:
            assert rows[old].startswith("no effect"), old
        else:
            assert rows[old].startswith(f"`{new}`"), old
