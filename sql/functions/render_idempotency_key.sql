-- The key a template renders for a payload, or NULL when a field is missing.
-- A value longer than 64 characters is rendered as md5-<its digest>.
-- The check on queue.job_types.idempotency_key_template guarantees that braces
-- only ever enclose placeholders, so splitting at them parses the template:
-- every part after the first is "alternatives}literal". Runs once per keyed
-- job on enqueue, hence splits rather than regular expressions.
CREATE OR REPLACE FUNCTION queue.render_idempotency_key(template text, data jsonb, at timestamptz)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    parts text[] := string_to_array(template, '{');
    result text := parts[1];
    placeholder text;
    alternative text;
    value text;
BEGIN
    IF template IS NULL THEN
        RETURN NULL;
    END IF;
    FOR position IN 2 .. cardinality(parts) LOOP
        placeholder := split_part(parts[position], '}', 1);
        value := NULL;
        FOREACH alternative IN ARRAY string_to_array(placeholder, '|') LOOP
            value := CASE alternative
                WHEN 'date' THEN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
                WHEN 'hour' THEN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24')
                ELSE nullif(data ->> alternative, '')
            END;
            EXIT WHEN value IS NOT NULL;
        END LOOP;
        IF value IS NULL THEN
            RETURN NULL;
        END IF;
        -- A long value (an SMS's text, a URL) stands in the key as its digest,
        -- so keys stay short and one field cannot make them too long.
        IF length(value) > 64 THEN
            value := 'md5-' || md5(value);
        END IF;
        result := result || value || substr(parts[position], length(placeholder) + 2);
    END LOOP;
    RETURN result;
END;
$$;
