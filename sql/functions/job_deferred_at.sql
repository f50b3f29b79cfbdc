-- When procrastinate recorded a job as deferred. A function, not a subquery in
-- the views: the planner prices a correlated subquery as if it ran for every
-- waiting job, which pushes the overview past jit_above_cost, and JIT then
-- spends ~200 ms compiling a query that runs in a few. It is only reached for
-- jobs deferred without queue.enqueue (coalesce stops at the first value).
-- SECURITY DEFINER so readers of the views need no right on procrastinate_events.
CREATE OR REPLACE FUNCTION queue.job_deferred_at(job_id bigint)
    RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER COST 5
    SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT min(e.at) FROM procrastinate_events AS e
    WHERE e.job_id = job_deferred_at.job_id AND e.type = 'deferred'
);
REVOKE ALL ON FUNCTION queue.job_deferred_at(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.job_deferred_at(bigint) TO queue_reader;
