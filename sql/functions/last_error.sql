-- The last error a job's attempts recorded: its type and message, from the
-- newest outcome that has one (none for a job that never failed). The one
-- rule for queue.jobs, queue.failures and queue.explain_job.
-- SECURITY DEFINER so readers of the views need no right on queue.job_outcomes.
CREATE OR REPLACE FUNCTION queue.last_error(job_id bigint)
    RETURNS TABLE (error_type text, error_message text)
    LANGUAGE sql STABLE SECURITY DEFINER COST 5 ROWS 1
    SET search_path = pg_catalog, public, pg_temp
AS $$
SELECT o.error_type, o.error_message FROM queue.job_outcomes AS o
WHERE o.job_id = last_error.job_id AND o.error_message IS NOT NULL
ORDER BY o.attempt DESC, o.id DESC
LIMIT 1
$$;
REVOKE ALL ON FUNCTION queue.last_error(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.last_error(bigint) TO queue_reader;
