-- When a job last entered one of the given event types (started, failed, ...).
-- A function for the same reason as job_deferred_at.
CREATE OR REPLACE FUNCTION queue.job_last_event_at(job_id bigint, types procrastinate_job_event_type[])
    RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER COST 5
    SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT max(e.at) FROM procrastinate_events AS e
    WHERE e.job_id = job_last_event_at.job_id AND e.type = ANY (job_last_event_at.types)
);
REVOKE ALL ON FUNCTION queue.job_last_event_at(bigint, procrastinate_job_event_type[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.job_last_event_at(bigint, procrastinate_job_event_type[]) TO queue_reader;
