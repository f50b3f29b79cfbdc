-- Put a running job back in its queue after an attempt: a retry (counted), or
-- an attempt that did not really happen (interrupted by shutdown, rate-limited:
-- not counted). A job whose abort was requested fails instead. Records the
-- attempt's outcome, unless outcome is NULL (a job turned away by an open
-- breaker: one row per turn would flood the table). Returns the job's new status.
CREATE OR REPLACE FUNCTION queue.requeue_job(
    job_id bigint,
    retry_at timestamptz,
    count_attempt boolean,
    outcome text,
    error_type text,
    error_message text,
    started_at timestamptz,
    finished_at timestamptz,
    new_priority integer DEFAULT NULL,
    new_queue_name text DEFAULT NULL,
    new_lock text DEFAULT NULL,
    claimed_by bigint DEFAULT NULL
)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job procrastinate_jobs;
    new_status procrastinate_job_status;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j
    WHERE j.id = requeue_job.job_id AND j.status = 'doing'
      AND (j.worker_id IS NULL OR claimed_by IS NULL OR j.worker_id = claimed_by)
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;  -- rescued meanwhile by another process: not ours any more
    END IF;
    new_status := CASE WHEN job.abort_requested THEN 'failed' ELSE 'todo' END;
    UPDATE procrastinate_jobs AS j
    SET status = new_status,
        attempts = j.attempts + CASE WHEN count_attempt OR new_status = 'failed' THEN 1 ELSE 0 END,
        scheduled_at = CASE WHEN new_status = 'todo' THEN requeue_job.retry_at ELSE j.scheduled_at END,
        priority = coalesce(new_priority, j.priority),
        queue_name = coalesce(new_queue_name, j.queue_name),
        lock = coalesce(new_lock, j.lock)
    WHERE j.id = requeue_job.job_id;
    DELETE FROM queue.job_starts AS s WHERE s.job_id = requeue_job.job_id;
    IF outcome IS NULL AND new_status = 'todo' THEN
        RETURN new_status::text;  -- a deferral not worth a row (an open breaker)
    END IF;
    INSERT INTO queue.job_outcomes (
        job_id, queue_name, job_type, attempt, status, error_type, error_message,
        worker_id, started_at, finished_at, idempotency_key
    ) VALUES (
        job.id, job.queue_name, job.task_name, job.attempts + 1,
        CASE WHEN new_status = 'failed' THEN 'failed' ELSE outcome END,
        error_type, error_message, job.worker_id, started_at, finished_at,
        job.args -> 'meta' ->> 'idempotency_key'
    );
    IF new_status = 'failed' THEN
        PERFORM queue.jobs_ended(ARRAY[job.id], ARRAY['failed']);
    END IF;
    RETURN new_status::text;
END;
$$;
REVOKE ALL ON FUNCTION queue.requeue_job(bigint, timestamptz, boolean, text, text, text, timestamptz, timestamptz, integer, text, text, bigint) FROM PUBLIC;
