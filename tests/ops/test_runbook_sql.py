"""Every SQL block of ops/runbook.md and ops/psql.md runs on a migrated database:
the views, tables and columns an operator is told to read exist."""

import re
import textwrap

import psycopg
import pytest

from tests.ops.binaries import OPS, RUNBOOK

# Fenced ```sql blocks, also those indented inside a list item.
_BLOCK = re.compile(r"^[ ]*```sql\n(.*?)^[ ]*```", flags=re.MULTILINE | re.DOTALL)


def _blocks(path) -> list[str]:
    return [
        textwrap.dedent(block).strip() for block in _BLOCK.findall(path.read_text())
    ]


@pytest.mark.parametrize("document", [RUNBOOK, OPS / "psql.md"], ids=lambda p: p.name)
def test_every_sql_block_runs(db_dsn, document):
    blocks = _blocks(document)
    assert len(blocks) >= 3
    failures = []
    with psycopg.connect(db_dsn) as conn:
        for block in blocks:
            # Each block in its own transaction, rolled back: the runbook's
            # rescue and the like change nothing here.
            try:
                with conn.transaction(force_rollback=True):
                    conn.execute(block)
            except psycopg.Error as error:
                failures.append(f"{error.diag.message_primary}\n{block}")
    assert failures == [], "\n\n".join(failures)


def test_every_object_of_schema_queue_named_exists(db_dsn):
    text = RUNBOOK.read_text() + (OPS / "psql.md").read_text()
    text = re.sub(r"'[^'\n]*'", "''", text)  # 'queue.clear' is an audit action
    named = set(re.findall(r"\bqueue\.([a-z_]+)\b", text))
    assert {"overview", "jobs", "failures", "side_effects"} <= named
    with psycopg.connect(db_dsn) as conn:
        existing = {
            row[0]
            for row in conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = 'queue'::regnamespace "
                "UNION SELECT proname FROM pg_proc WHERE pronamespace = 'queue'::regnamespace"
            )
        }
    assert named - existing == set()


def test_every_command_named_exists():
    from app.cli import build_parser

    [commands] = [
        action.choices
        for action in build_parser()._actions
        if isinstance(action.choices, dict)
    ]
    text = RUNBOOK.read_text() + (OPS / "psql.md").read_text()
    named = set(re.findall(r"`queue-service\s+([a-z]+)", text))
    assert {"retry", "pause", "resume", "cancel", "retention"} <= named
    assert named <= set(commands)
