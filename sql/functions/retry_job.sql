-- Requeue a failed job with a fresh set of attempts (an operator retries after
-- fixing the cause). Refuses jobs in any other state.
CREATE OR REPLACE FUNCTION queue.retry_job(job_id bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job procrastinate_jobs;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j WHERE j.id = retry_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', retry_job.job_id USING ERRCODE = 'QS013';
    END IF;
    IF job.status <> 'failed' THEN
        RAISE EXCEPTION 'job % is %; only failed jobs can be retried', job.id, job.status USING ERRCODE = 'QS012';
    END IF;
    BEGIN
        UPDATE procrastinate_jobs
        SET status = 'todo', attempts = 0, scheduled_at = NULL, abort_requested = false
        WHERE id = job.id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'job % cannot be retried: a waiting job holds its queueing lock %',
            job.id, job.queueing_lock USING ERRCODE = 'QS012';
    END;
    PERFORM queue.hold_retried_jobs(ARRAY[job.id]);
    PERFORM queue.wake_workers(job.queue_name);
END;
$$;
REVOKE ALL ON FUNCTION queue.retry_job(bigint) FROM PUBLIC;
