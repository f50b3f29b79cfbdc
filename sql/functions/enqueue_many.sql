-- Enqueue many jobs atomically: an array of objects with the fields of
-- queue.enqueue. One invalid job fails the whole call, naming its index.
CREATE OR REPLACE FUNCTION queue.enqueue_many(jobs jsonb)
    RETURNS TABLE (job_index integer, job_id bigint, duplicate boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT r.job_index, r.job_id, r.duplicate FROM queue.enqueue_jobs(jobs, true, true) AS r;
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue_many(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.enqueue_many(jsonb) TO queue_producer;
