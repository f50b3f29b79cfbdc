-- Return to their queue the running jobs of workers that stopped heartbeating
-- (queue.worker_stalled: a restart of the database is no worker's silence) or
-- were pruned, counting the lost attempt; fail those whose queue's
-- attempts are spent. A job the worker claimed but never started (no start
-- mark, queue.job_starts) lost no attempt: it goes back uncounted, with no
-- outcome row ('returned'). A job whose queueing lock is now held by a waiting twin
-- is cancelled in favour of the twin instead of crashing the rescue. Skips jobs
-- another rescue holds (SKIP LOCKED), so concurrent rescues share the work.
CREATE OR REPLACE FUNCTION queue.rescue_stalled_jobs(stalled_after_s double precision)
    RETURNS TABLE (job_id bigint, queue_name text, outcome text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job record;
BEGIN
    FOR job IN
        SELECT j.id, j.queue_name, j.task_name, j.attempts, j.worker_id,
               j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
               -- A job may carry its own limit (the API's options.attempts).
               coalesce(CASE WHEN j.args -> 'meta' ->> 'max_attempts' ~ '^[0-9]{1,3}$'
                             THEN (j.args -> 'meta' ->> 'max_attempts')::integer END,
                        q.max_attempts, 1) AS max_attempts
        FROM procrastinate_jobs AS j
        LEFT JOIN procrastinate_workers AS w ON w.id = j.worker_id
        LEFT JOIN queue.queues AS q ON q.name = j.queue_name
        WHERE j.status = 'doing'
          AND (j.worker_id IS NULL OR queue.worker_stalled(w.last_heartbeat, stalled_after_s))
        ORDER BY j.id
        FOR UPDATE OF j SKIP LOCKED
    LOOP
        job_id := job.id;
        queue_name := job.queue_name;
        DELETE FROM queue.job_starts AS s WHERE s.job_id = job.id;
        IF NOT FOUND THEN
            BEGIN
                UPDATE procrastinate_jobs SET status = 'todo', worker_id = NULL WHERE id = job.id;
                outcome := 'returned';
                PERFORM queue.wake_workers(job.queue_name);
            EXCEPTION WHEN unique_violation THEN
                -- A waiting twin holds its queueing lock; this one never ran.
                UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = job.id;
                outcome := 'cancelled';
                PERFORM queue.jobs_ended(ARRAY[job.id], ARRAY[outcome]);
            END;
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF job.attempts + 1 >= job.max_attempts THEN
            UPDATE procrastinate_jobs SET status = 'failed', attempts = attempts + 1 WHERE id = job.id;
            outcome := 'failed';
        ELSE
            BEGIN
                UPDATE procrastinate_jobs
                SET status = 'todo', attempts = attempts + 1, scheduled_at = NULL
                WHERE id = job.id;
                outcome := 'rescued';
            EXCEPTION WHEN unique_violation THEN
                UPDATE procrastinate_jobs SET status = 'cancelled', attempts = attempts + 1 WHERE id = job.id;
                outcome := 'cancelled';
            END;
        END IF;
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            worker_id, started_at, finished_at, idempotency_key
        ) VALUES (
            job.id, job.queue_name, job.task_name, job.attempts + 1, outcome, 'WorkerLost',
            CASE outcome
                WHEN 'rescued' THEN format('worker %s stopped heartbeating during attempt %s; returned to the queue',
                                           coalesce(job.worker_id::text, '(pruned)'), job.attempts + 1)
                WHEN 'failed' THEN format('worker %s stopped heartbeating during attempt %s of %s; attempts spent',
                                          coalesce(job.worker_id::text, '(pruned)'), job.attempts + 1, job.max_attempts)
                ELSE 'worker stopped heartbeating; a waiting job with the same queueing lock replaces this one'
            END,
            job.worker_id, now(), now(), job.idempotency_key
        );
        IF outcome = 'rescued' THEN
            PERFORM queue.wake_workers(job.queue_name);
        ELSE
            PERFORM queue.jobs_ended(ARRAY[job.id], ARRAY[outcome]);
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION queue.rescue_stalled_jobs(double precision) FROM PUBLIC;
