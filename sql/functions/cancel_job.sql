-- Cancel a job: a waiting job is cancelled at once; a running one is asked to
-- abort (its worker cancels an async task, a sync task sees should_abort).
-- Returns the new state: 'cancelled' or 'aborting'.
CREATE OR REPLACE FUNCTION queue.cancel_job(job_id bigint)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job procrastinate_jobs;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j WHERE j.id = cancel_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', cancel_job.job_id USING ERRCODE = 'QS013';
    END IF;
    IF job.status = 'todo' THEN
        UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = job.id;
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            started_at, finished_at, idempotency_key
        ) VALUES (
            job.id, job.queue_name, job.task_name, job.attempts + 1, 'cancelled', 'Cancelled',
            'cancelled while waiting', now(), now(), job.args -> 'meta' ->> 'idempotency_key'
        );
        PERFORM queue.jobs_ended(ARRAY[job.id], ARRAY['cancelled']);
        RETURN 'cancelled';
    ELSIF job.status = 'doing' THEN
        UPDATE procrastinate_jobs SET abort_requested = true WHERE id = job.id;
        RETURN 'aborting';
    END IF;
    RAISE EXCEPTION 'job % is % and cannot be cancelled', job.id, job.status USING ERRCODE = 'QS012';
END;
$$;
REVOKE ALL ON FUNCTION queue.cancel_job(bigint) FROM PUBLIC;
