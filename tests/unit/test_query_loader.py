import re
from pathlib import Path

import pytest

from app.db.queries import QUERIES, QueryFileError, load_queries, parse_queries

REPO = Path(__file__).resolve().parents[2]
QUERY_MODULES = sorted((REPO / "app" / "db" / "queries").glob("*.py"))

TWO_QUERIES = """\
-- name: first_query :one
-- Return one row.
SELECT 1;

-- name: second_query :many
-- Return many rows.
SELECT n
FROM generate_series(1, 3) AS n;
"""


def test_parse_queries_reads_tag_description_and_statement():
    assert parse_queries(TWO_QUERIES, source="two.sql") == {
        "first_query": (":one", "SELECT 1"),
        "second_query": (":many", "SELECT n\nFROM generate_series(1, 3) AS n"),
    }


def test_parse_queries_reads_exec_cardinality():
    text = "-- name: touch_it :exec\n-- Touch.\nUPDATE t SET x = 1;\n"
    assert parse_queries(text, source="x.sql") == {
        "touch_it": (":exec", "UPDATE t SET x = 1")
    }


def test_parse_queries_block_without_description_is_error():
    text = "-- name: no_description :one\nSELECT 1;\n"
    with pytest.raises(QueryFileError, match="no_description has no description"):
        parse_queries(text, source="bad.sql")


def test_parse_queries_block_without_statement_is_error():
    text = "-- name: empty_one :one\n-- Nothing follows.\n\n-- name: other :one\n-- X.\nSELECT 1;\n"
    with pytest.raises(QueryFileError, match="empty_one has no statement"):
        parse_queries(text, source="bad.sql")


def test_load_queries_reads_every_file_in_directory(tmp_path):
    (tmp_path / "a.sql").write_text("-- name: alpha :one\n-- A.\nSELECT 'a';\n")
    (tmp_path / "b.sql").write_text("-- name: beta :one\n-- B.\nSELECT 'b';\n")
    (tmp_path / "notes.txt").write_text("-- name: gamma :one\n-- C.\nSELECT 'c';\n")
    assert dict(load_queries(tmp_path)) == {"alpha": "SELECT 'a'", "beta": "SELECT 'b'"}


def test_load_queries_name_defined_twice_across_files_is_error(tmp_path):
    (tmp_path / "a.sql").write_text("-- name: same_name :one\n-- A.\nSELECT 'a';\n")
    (tmp_path / "b.sql").write_text("-- name: same_name :one\n-- B.\nSELECT 'b';\n")
    with pytest.raises(QueryFileError, match="same_name is defined twice"):
        load_queries(tmp_path)


def test_load_queries_result_is_read_only(tmp_path):
    (tmp_path / "a.sql").write_text("-- name: alpha :one\n-- A.\nSELECT 'a';\n")
    queries = load_queries(tmp_path)
    with pytest.raises(TypeError):
        queries["alpha"] = "DROP TABLE x"  # type: ignore[index]


def test_queries_is_not_empty():
    assert len(QUERIES) > 0


def test_queries_names_are_snake_case():
    bad = [
        name
        for name in QUERIES
        if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", name)
    ]
    assert bad == []


# A wrapper runs its query through one of the helpers of app.db.queries, by name.
WRAPPER_CALL = re.compile(
    r'\b(?:fetch_all|fetch_one|fetch_value|execute)\(\s*conn,\s*"([a-z_0-9]+)"'
)


def test_queries_every_name_is_used_by_a_wrapper():
    sources = [path.read_text() for path in QUERY_MODULES if path.name != "__init__.py"]
    assert sources, "no wrapper modules found"
    used = {name for text in sources for name in WRAPPER_CALL.findall(text)}
    assert sorted(set(QUERIES) - used) == []


def test_queries_every_wrapper_reference_names_a_query():
    referenced = {
        name
        for path in QUERY_MODULES
        for name in WRAPPER_CALL.findall(path.read_text())
    }
    assert referenced
    assert referenced <= set(QUERIES)


def test_parse_queries_empty_text_has_no_queries():
    assert parse_queries("", source="empty.sql") == {}


def test_parse_queries_refuses_a_malformed_tag():
    text = (
        "-- name: a :one\n-- A.\nSELECT 1;\n\n-- name: B_bad :once\n-- B.\nSELECT 2;\n"
    )
    with pytest.raises(QueryFileError, match="malformed tag"):
        parse_queries(text, source="bad.sql")


def test_parse_queries_refuses_text_before_the_first_tag():
    with pytest.raises(QueryFileError, match="before the first"):
        parse_queries(
            "SELECT 0;\n-- name: a :one\n-- A.\nSELECT 1;\n", source="bad.sql"
        )
