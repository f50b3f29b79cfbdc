-- queue.enqueue_many for the service's own Python path (app.services.enqueue,
-- the API's batches and group commit), which has already checked every
-- payload with the same models that queue.payload_fields holds: the same
-- batch, without checking the payloads again. Granted to nobody: only the
-- service's own role (the owner) calls it; producers use queue.enqueue_many.
CREATE OR REPLACE FUNCTION queue.enqueue_many_checked(jobs jsonb)
    RETURNS TABLE (job_index integer, job_id bigint, duplicate boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT r.job_index, r.job_id, r.duplicate FROM queue.enqueue_jobs(jobs, true, false) AS r;
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue_many_checked(jsonb) FROM PUBLIC;
