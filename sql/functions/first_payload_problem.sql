-- The first job of a batch whose data breaks its type's payload model
-- (queue.payload_fields, queue.job_types.payload_one_of), with the field's
-- JSON pointer below data and what is wrong; no row when every job is valid.
-- One statement for the whole batch: its cost follows the batch's jobs times
-- their types' fields, whatever the tables hold.
CREATE OR REPLACE FUNCTION queue.first_payload_problem(batch queue.enqueue_row[])
    RETURNS TABLE (job_index integer, pointer text, detail text)
    LANGUAGE sql STABLE
AS $$
SELECT p.job_index, p.pointer, p.detail
FROM (
    SELECT b.job_index, f.position AS rank, '/' || f.field AS pointer,
           queue.payload_field_problem(f, queue.payload_field_value(f, b.args -> 'data')) AS detail
    FROM unnest(batch) AS b
    JOIN queue.payload_fields AS f ON f.job_type = b.job_type
    UNION ALL
    SELECT b.job_index, 1000000, '',
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
) AS p
WHERE p.detail IS NOT NULL
ORDER BY p.job_index, p.rank
LIMIT 1
$$;
COMMENT ON FUNCTION queue.first_payload_problem(queue.enqueue_row[]) IS
    'The first job of a batch whose data breaks its payload model: its index, the field''s pointer and what is wrong.';
