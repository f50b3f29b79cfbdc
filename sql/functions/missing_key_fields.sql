-- The placeholders of a template that a payload cannot fill ('seatId|ticketId'),
-- for error messages.
CREATE OR REPLACE FUNCTION queue.missing_key_fields(template text, data jsonb)
    RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT coalesce(array_agg(p.alternatives[1] ORDER BY p.ord), '{}')
    FROM regexp_matches(template, '\{([^}]*)\}', 'g') WITH ORDINALITY AS p(alternatives, ord)
    WHERE NOT EXISTS (
        SELECT 1 FROM unnest(string_to_array(p.alternatives[1], '|')) AS a(field)
        WHERE a.field IN ('date', 'hour') OR nullif(data ->> a.field, '') IS NOT NULL
    )
);
