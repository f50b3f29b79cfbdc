-- A field's value in a job's data: under its key, else under its first alias
-- that is present (the old service's names; at most two, which
-- app.domain.payload_rules enforces). A nested model's field is read in its
-- parent (neither has aliases). One expression without a subquery, so the
-- planner inlines it: it runs for every field of every job.
CREATE OR REPLACE FUNCTION queue.payload_field_value(rule queue.payload_fields, data jsonb)
    RETURNS jsonb
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN rule.parent IS NOT NULL THEN data -> rule.parent -> rule.field
    WHEN data ? rule.field THEN data -> rule.field
    WHEN rule.aliases[1] IS NOT NULL AND data ? rule.aliases[1] THEN data -> rule.aliases[1]
    WHEN rule.aliases[2] IS NOT NULL AND data ? rule.aliases[2] THEN data -> rule.aliases[2]
END;
COMMENT ON FUNCTION queue.payload_field_value(queue.payload_fields, jsonb) IS
    'A field''s value in data, under its key or its first present alias; NULL when absent.';
