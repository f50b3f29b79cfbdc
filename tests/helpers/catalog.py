"""A comparable picture of a database's schema, read from its catalogues.

Two databases built different ways (fresh, or upgraded from an older layout)
must end with equal pictures: the same functions with the same text, views,
tables and columns, constraints, indexes, triggers, types, grants, comments,
and the same seed rows.
"""

from typing import Any

import psycopg

SCHEMAS = ("queue", "public")

_QUERIES: dict[str, str] = {
    "functions": """
        SELECT p.oid::regprocedure::text, pg_get_functiondef(p.oid), p.proacl::text,
               obj_description(p.oid, 'pg_proc')
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY(%(schemas)s) AND p.prokind IN ('f', 'p')
        ORDER BY 1""",
    "relations": """
        SELECT n.nspname, c.relname, c.relkind::text, c.relacl::text, c.reloptions::text,
               obj_description(c.oid, 'pg_class'),
               CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END
        FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
        ORDER BY 1, 2""",
    "columns": """
        SELECT table_schema, table_name, ordinal_position, column_name, data_type,
               column_default, is_nullable, is_identity
        FROM information_schema.columns
        WHERE table_schema = ANY(%(schemas)s)
        ORDER BY 1, 2, 3""",
    "constraints": """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint AS c JOIN pg_namespace AS n ON n.oid = c.connamespace
        WHERE n.nspname = ANY(%(schemas)s)
        ORDER BY 1, 2""",
    "indexes": """
        SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = ANY(%(schemas)s)
        ORDER BY 1, 2, 3""",
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger AS t
        JOIN pg_class AS c ON c.oid = t.tgrelid
        JOIN pg_namespace AS n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND NOT t.tgisinternal
        ORDER BY 1, 2""",
    "types": """
        SELECT n.nspname, t.typname, t.typtype::text,
               (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                                  ORDER BY a.attnum)
                FROM pg_attribute AS a WHERE a.attrelid = t.typrelid AND a.attnum > 0)
        FROM pg_type AS t JOIN pg_namespace AS n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY(%(schemas)s) AND t.typtype IN ('c', 'e', 'd')
          AND NOT EXISTS (SELECT 1 FROM pg_class AS c
                          WHERE c.oid = t.typrelid AND c.relkind <> 'c')
        ORDER BY 1, 2""",
    "schema_grants": """
        SELECT nspname, nspacl::text FROM pg_namespace WHERE nspname = ANY(%(schemas)s)
        ORDER BY 1""",
}

# Rows differ in when they were written, not in what they say.
_ROWS = """
    SELECT quote_ident(c.table_schema) || '.' || quote_ident(c.table_name),
           array_agg(c.column_name::text) FILTER (WHERE c.data_type LIKE 'timestamp%')
    FROM information_schema.columns AS c
    JOIN information_schema.tables AS t USING (table_schema, table_name)
    WHERE c.table_schema = 'queue' AND t.table_type = 'BASE TABLE'
    GROUP BY 1 ORDER BY 1"""


def snapshot(dsn: str) -> dict[str, Any]:
    """Return the schema of `dsn` and its `queue` tables' rows, minus timestamps."""
    picture: dict[str, Any] = {}
    with psycopg.connect(dsn) as conn:
        for name, query in _QUERIES.items():
            picture[name] = conn.execute(query, {"schemas": list(SCHEMAS)}).fetchall()
        for table, timestamps in conn.execute(_ROWS).fetchall():
            rows = conn.execute(
                f"SELECT coalesce(jsonb_agg(r ORDER BY r::text), '[]') FROM "
                f"(SELECT to_jsonb(t) - %s::text[] AS r FROM {table} AS t) AS s",
                (timestamps or [],),
            ).fetchone()
            picture[f"rows {table}"] = rows[0] if rows else []
    return picture
