-- The key a template renders for a payload, or NULL when a field is missing.
CREATE OR REPLACE FUNCTION queue.render_idempotency_key(template text, data jsonb, at timestamptz)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    -- Literal text between placeholders; there is one more literal than placeholders.
    literals text[] := regexp_split_to_array(template, '\{[^}]*\}');
    placeholder text[];
    alternative text;
    value text;
    position integer := 1;
    result text := literals[1];
BEGIN
    FOR placeholder IN SELECT regexp_matches(template, '\{([^}]*)\}', 'g') LOOP
        value := NULL;
        FOREACH alternative IN ARRAY string_to_array(placeholder[1], '|') LOOP
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
        position := position + 1;
        result := result || value || literals[position];
    END LOOP;
    RETURN result;
END;
$$;
