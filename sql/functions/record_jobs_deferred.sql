-- Record when jobs deferred outside queue.enqueue (procrastinate's own defer,
-- the periodic deferrer) were deferred: queue.overview reads it through
-- queue.job_deferred_at. Jobs of queue.enqueue carry meta.enqueued_at and get
-- no event row. One INSERT per statement, not a trigger call per row.
CREATE OR REPLACE FUNCTION queue.record_jobs_deferred()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO procrastinate_events (job_id, type)
    SELECT n.id, 'deferred'
    FROM new_jobs AS n
    WHERE n.status = 'todo' AND n.args -> 'meta' ->> 'enqueued_at' IS NULL;
    RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION queue.record_jobs_deferred() FROM PUBLIC;
