-- Claim up to max_jobs due jobs of one queue for a worker, in priority order.
-- Same rules as procrastinate_fetch_job_v2 (a job whose lock is held by a
-- running job, or by an earlier waiting one, is skipped), but many jobs per
-- statement. Nothing is claimed while the queue is paused. A queue with a
-- key_concurrency claims through queue.fetch_keyed_jobs: at most that many
-- running jobs per concurrency key, round-robin between keys. Rows come back
-- unordered; the caller sorts them by (priority desc, id).
CREATE OR REPLACE FUNCTION queue.fetch_jobs(queue_name text, worker_id bigint, max_jobs integer)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    queue_paused boolean;
    per_key integer;
BEGIN
    -- plpgsql rather than SQL: its plans are cached per session, while a SQL
    -- function's statements are planned again at every call (~1 ms here).
    SELECT q.paused, q.key_concurrency INTO queue_paused, per_key
    FROM queue.queues AS q WHERE q.name = fetch_jobs.queue_name;
    IF coalesce(queue_paused, false) THEN
        RETURN;
    END IF;
    IF per_key IS NOT NULL THEN
        RETURN QUERY SELECT * FROM queue.fetch_keyed_jobs(fetch_jobs.queue_name, fetch_jobs.worker_id, max_jobs, per_key);
        RETURN;
    END IF;
    RETURN QUERY
    UPDATE procrastinate_jobs AS j
    SET status = 'doing', worker_id = fetch_jobs.worker_id
    WHERE j.id IN (
        SELECT jobs.id
        FROM procrastinate_jobs AS jobs
        WHERE jobs.status = 'todo'
          AND jobs.queue_name = fetch_jobs.queue_name
          AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
          -- A job whose lock is held by a running job, or by an earlier or
          -- higher-priority waiting one, waits: so at most one job per lock is
          -- ever a candidate, and a batch never claims two of one lock. The OR
          -- keeps this a lookup per candidate (procrastinate_jobs_lock_claim_idx)
          -- instead of an anti-join over every job, and the claim reads its
          -- queue's rows in order (procrastinate_jobs_claim_idx) until its batch
          -- is full: its cost follows the batch, not the backlog.
          AND (jobs.lock IS NULL OR NOT EXISTS (
              SELECT 1 FROM procrastinate_jobs AS other
              WHERE other.lock = jobs.lock
                AND other.status IN ('todo', 'doing')
                AND (other.status = 'doing'
                     OR other.priority > jobs.priority
                     OR (other.priority = jobs.priority AND other.id < jobs.id))
          ))
        ORDER BY jobs.priority DESC, jobs.id ASC
        LIMIT max_jobs
        FOR UPDATE OF jobs SKIP LOCKED
    )
    RETURNING j.*;
END;
$$;
REVOKE ALL ON FUNCTION queue.fetch_jobs(text, bigint, integer) FROM PUBLIC;
