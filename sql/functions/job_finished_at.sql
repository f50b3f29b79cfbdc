-- When a job's last attempt ended, from its outcome rows (every ending writes
-- one: finish_jobs, requeue_job, the rescue, cancel_job). A function for the
-- same reason as job_deferred_at; SECURITY DEFINER so readers of the views
-- need no right on the table.
CREATE OR REPLACE FUNCTION queue.job_finished_at(job_id bigint)
    RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER COST 5
    SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT o.finished_at FROM queue.job_outcomes AS o
    WHERE o.job_id = job_finished_at.job_id
    ORDER BY o.attempt DESC, o.id DESC
    LIMIT 1
);
REVOKE ALL ON FUNCTION queue.job_finished_at(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.job_finished_at(bigint) TO queue_reader;
