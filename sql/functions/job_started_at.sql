-- When a job's current or last attempt started: its start mark while it runs,
-- then its last outcome's. SECURITY DEFINER so readers of the views need no
-- right on the tables.
CREATE OR REPLACE FUNCTION queue.job_started_at(job_id bigint)
    RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER COST 5
    SET search_path = pg_catalog, public, pg_temp
RETURN coalesce(
    (SELECT s.started_at FROM queue.job_starts AS s WHERE s.job_id = job_started_at.job_id),
    (SELECT o.started_at FROM queue.job_outcomes AS o
     WHERE o.job_id = job_started_at.job_id
     ORDER BY o.attempt DESC, o.id DESC
     LIMIT 1)
);
REVOKE ALL ON FUNCTION queue.job_started_at(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.job_started_at(bigint) TO queue_reader;
