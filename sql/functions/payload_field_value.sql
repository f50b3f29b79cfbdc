-- A field's value in a job's data: under its key, else under its first alias
-- that is present (the old service's names).
CREATE OR REPLACE FUNCTION queue.payload_field_value(rule queue.payload_fields, data jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN data ? rule.field OR cardinality(rule.aliases) = 0 THEN data -> rule.field
    ELSE (SELECT data -> a.alias FROM unnest(rule.aliases) WITH ORDINALITY AS a(alias, n)
          WHERE data ? a.alias ORDER BY a.n LIMIT 1)
END;
COMMENT ON FUNCTION queue.payload_field_value(queue.payload_fields, jsonb) IS
    'A field''s value in data, under its key or its first present alias; NULL when absent.';
