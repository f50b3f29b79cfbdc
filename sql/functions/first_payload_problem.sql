-- The first job of a batch whose data breaks its type's payload model
-- (queue.payload_fields, queue.job_types.payload_one_of), with the field's
-- JSON pointer below data and what is wrong; no row when every job is valid.
-- Field rules are checked first, then the groups of fields (a seat or a
-- ticket), only for batches holding a type that has some. One statement
-- each for the whole batch: the cost follows the batch's jobs times their
-- types' fields, whatever the tables hold.
CREATE OR REPLACE FUNCTION queue.first_payload_problem(batch queue.enqueue_row[])
    RETURNS TABLE (job_index integer, pointer text, detail text)
    LANGUAGE plpgsql STABLE
AS $$
BEGIN
    -- plpgsql rather than SQL: its plans are cached per session, where a SQL
    -- function's statements are planned again at every call (about 1 ms).
    -- The value is computed first, once per field (OFFSET 0 keeps the
    -- planner from folding it back in): payload_field_problem is inlined and
    -- reads it many times, and each read would extract it again (10 times
    -- the work, measured).
    RETURN QUERY
    SELECT b.job_index, '/' || coalesce(f.parent || '/', '') || f.field, p.detail
    FROM unnest(batch) AS b
    JOIN queue.payload_fields AS f ON f.job_type = b.job_type
    CROSS JOIN LATERAL (
        SELECT queue.payload_field_value(f, b.args -> 'data') AS value OFFSET 0
    ) AS v
    CROSS JOIN LATERAL (SELECT queue.payload_field_problem(f, v.value) AS detail) AS p
    WHERE p.detail IS NOT NULL
      -- A nested field is checked when its parent is an object; the parent's
      -- own rule says what is wrong otherwise.
      AND (f.parent IS NULL OR jsonb_typeof(b.args -> 'data' -> f.parent) = 'object')
    ORDER BY b.job_index, f.position
    LIMIT 1;
    IF FOUND OR NOT EXISTS (
        SELECT 1 FROM queue.job_types AS t
        WHERE t.payload_one_of IS NOT NULL
          AND t.name IN (SELECT b.job_type FROM unnest(batch) AS b)
    ) THEN
        RETURN;
    END IF;
    RETURN QUERY
    SELECT b.job_index, '',
           (SELECT string_agg(array_to_string(ARRAY(SELECT jsonb_array_elements_text(g)), ' and '), ' or ')
            FROM jsonb_array_elements(t.payload_one_of) AS g) || ' is required'
    FROM unnest(batch) AS b
    JOIN queue.job_types AS t ON t.name = b.job_type AND t.payload_one_of IS NOT NULL
    WHERE NOT EXISTS (
        SELECT 1 FROM jsonb_array_elements(t.payload_one_of) AS g
        WHERE NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements_text(g) AS k(field)
            WHERE coalesce(jsonb_typeof(b.args -> 'data' -> k.field), 'null') = 'null'
        )
    )
    ORDER BY b.job_index
    LIMIT 1;
END;
$$;
COMMENT ON FUNCTION queue.first_payload_problem(queue.enqueue_row[]) IS
    'The first job of a batch whose data breaks its payload model: its index, the field''s pointer and what is wrong.';
