-- What is wrong with one field of a job's data under its rule
-- (queue.payload_fields), or NULL when nothing is. `value` is the field's
-- value, NULL when the key is absent. The words follow the payload models'
-- own messages; queue.first_payload_problem names the field.
CREATE OR REPLACE FUNCTION queue.payload_field_problem(rule queue.payload_fields, value jsonb)
    RETURNS text
    -- STABLE, not IMMUTABLE: format() and to_jsonb() are stable, and an
    -- immutable function over them is not inlined (it would then be planned
    -- at every call, for every field of every job).
    LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN value IS NULL THEN CASE WHEN rule.required THEN 'Field required' END
    WHEN jsonb_typeof(value) = 'null' THEN
        CASE WHEN NOT rule.nullable THEN format('Input should be a valid %s, not null', rule.kind) END
    WHEN rule.kind = 'string' AND jsonb_typeof(value) <> 'string' THEN 'Input should be a valid string'
    WHEN rule.kind = 'integer' AND (jsonb_typeof(value) <> 'number' OR value::text !~ '^-?[0-9]+$')
        THEN 'Input should be a valid integer'
    WHEN rule.kind = 'number' AND jsonb_typeof(value) <> 'number' THEN 'Input should be a valid number'
    WHEN rule.kind = 'boolean' AND jsonb_typeof(value) <> 'boolean' THEN 'Input should be a valid boolean'
    WHEN rule.kind = 'object' AND jsonb_typeof(value) <> 'object' THEN 'Input should be a valid dictionary'
    WHEN rule.kind = 'array' AND jsonb_typeof(value) <> 'array' THEN 'Input should be a valid list'
    WHEN rule.min_length IS NOT NULL AND char_length(value #>> '{}') < rule.min_length
        THEN format('String should have at least %s characters', rule.min_length)
    WHEN rule.max_length IS NOT NULL AND char_length(value #>> '{}') > rule.max_length
        THEN format('String should have at most %s characters', rule.max_length)
    WHEN rule.choices IS NOT NULL
         AND CASE WHEN rule.choices_any_case THEN upper(value #>> '{}') ELSE value #>> '{}' END
             <> ALL (rule.choices)
        THEN format('Input should be one of %s', array_to_string(rule.choices, ', '))
    WHEN rule.pattern IS NOT NULL AND (value #>> '{}') !~ rule.pattern
        THEN 'String should match the field''s pattern'
    -- A timestamp of the right shape may still name no instant (February 30).
    WHEN rule.is_timestamp AND NOT coalesce(jsonb_path_exists(
            to_jsonb(regexp_replace(value #>> '{}', 'Z$', '+00:00')), '$.datetime()', '{}', true), false)
        THEN 'Input should be a valid datetime'
    WHEN rule.minimum IS NOT NULL AND (value::text)::numeric < rule.minimum
        THEN format('Input should be greater than or equal to %s', rule.minimum)
    WHEN rule.maximum IS NOT NULL AND (value::text)::numeric > rule.maximum
        THEN format('Input should be less than or equal to %s', rule.maximum)
    WHEN rule.exclusive_minimum IS NOT NULL AND (value::text)::numeric <= rule.exclusive_minimum
        THEN format('Input should be greater than %s', rule.exclusive_minimum)
    WHEN rule.exclusive_maximum IS NOT NULL AND (value::text)::numeric >= rule.exclusive_maximum
        THEN format('Input should be less than %s', rule.exclusive_maximum)
END;
COMMENT ON FUNCTION queue.payload_field_problem(queue.payload_fields, jsonb) IS
    'What is wrong with a value under a payload field rule; NULL when nothing is.';
