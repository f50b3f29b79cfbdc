-- Requeue every failed job of a queue (those whose queueing lock is free).
-- Returns how many were requeued.
CREATE OR REPLACE FUNCTION queue.retry_failed_jobs(queue_name text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    retried bigint;
    retried_ids bigint[];
BEGIN
    WITH failed AS (
        SELECT j.id FROM procrastinate_jobs AS j
        WHERE j.status = 'failed' AND j.queue_name = queue.canonical_queue_name(retry_failed_jobs.queue_name)
          AND (j.queueing_lock IS NULL OR NOT EXISTS (
              SELECT 1 FROM procrastinate_jobs AS w WHERE w.queueing_lock = j.queueing_lock AND w.status = 'todo'))
        ORDER BY j.id
        FOR UPDATE OF j SKIP LOCKED
    ),
    requeued AS (
        UPDATE procrastinate_jobs AS j
        SET status = 'todo', attempts = 0, scheduled_at = NULL, abort_requested = false
        FROM failed WHERE j.id = failed.id
        RETURNING j.id
    )
    SELECT count(*), array_agg(requeued.id) INTO retried, retried_ids FROM requeued;
    IF retried > 0 THEN
        PERFORM queue.hold_retried_jobs(retried_ids);
        PERFORM queue.wake_workers(queue.canonical_queue_name(retry_failed_jobs.queue_name));
    END IF;
    RETURN retried;
END;
$$;
REVOKE ALL ON FUNCTION queue.retry_failed_jobs(text) FROM PUBLIC;
