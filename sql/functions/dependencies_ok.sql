-- Whether a job's depends_on is well formed: an array of at most 1,000
-- dependencies, each a job id (a positive integer, or {"job_id": n}) or an
-- earlier job of the same call ({"index": i}, 0 <= i < job_index), with an
-- optional "on_failure" of "fail" (the default) or "run". Only earlier jobs
-- may be named by index, so one call cannot build a cycle.
CREATE OR REPLACE FUNCTION queue.dependencies_ok(depends_on jsonb, job_index integer)
    RETURNS boolean
    LANGUAGE sql IMMUTABLE
RETURN jsonb_typeof(depends_on) = 'array'
    AND jsonb_array_length(depends_on) <= 1000
    AND NOT EXISTS (
        SELECT 1
        FROM jsonb_array_elements(depends_on) AS d(dep)
        WHERE NOT CASE
            WHEN jsonb_typeof(d.dep) = 'number' THEN
                d.dep::text ~ '^[1-9][0-9]{0,17}$'
            WHEN jsonb_typeof(d.dep) = 'object' THEN
                d.dep - '{job_id,index,on_failure}'::text[] = '{}'
                AND (d.dep ? 'job_id') <> (d.dep ? 'index')
                AND coalesce(d.dep -> 'on_failure' IN ('"fail"', '"run"'), true)
                AND CASE
                    WHEN d.dep ? 'job_id' THEN d.dep ->> 'job_id' ~ '^[1-9][0-9]{0,17}$'
                        AND jsonb_typeof(d.dep -> 'job_id') = 'number'
                    ELSE jsonb_typeof(d.dep -> 'index') = 'number'
                        AND d.dep ->> 'index' ~ '^[0-9]{1,9}$'
                        AND (d.dep ->> 'index')::integer < job_index
                END
            ELSE false
        END
    );
REVOKE ALL ON FUNCTION queue.dependencies_ok(jsonb, integer) FROM PUBLIC;
