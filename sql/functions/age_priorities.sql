-- Raise the priority of jobs that have waited: a job due for priority_aging_s
-- of its queue gains a level per period, from the priority it was enqueued
-- with (kept in meta.base_priority at its first raise), up to 10. At most
-- max_jobs jobs a call, oldest first; returns how many were raised.
--
-- The scan reads waiting jobs oldest first on procrastinate_jobs_id_lock_idx_v1
-- (id, lock) WHERE status IN ('todo', 'doing'), whose head is the jobs that
-- waited longest: its cost follows the waiting jobs, never the history. A
-- job's target is computed from its base, so calls that race or repeat raise
-- it once; rows a worker is claiming are skipped (SKIP LOCKED).
CREATE OR REPLACE FUNCTION queue.age_priorities(max_jobs integer DEFAULT 10000)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    raised bigint;
BEGIN
    WITH aged AS (
        SELECT j.id,
               least(10, coalesce((j.args -> 'meta' ->> 'base_priority')::integer, j.priority)
                         + floor(extract(epoch FROM now() - w.due_since) / q.priority_aging_s)::integer
               ) AS target
        FROM procrastinate_jobs AS j
        JOIN queue.queues AS q ON q.name = j.queue_name
        CROSS JOIN LATERAL (
            SELECT coalesce(j.scheduled_at, (j.args -> 'meta' ->> 'enqueued_at')::timestamptz) AS due_since
        ) AS w
        WHERE j.status = 'todo' AND j.priority < 10 AND q.priority_aging_s > 0
          -- The envelope keeps the base priority; a job without one is left alone.
          AND jsonb_typeof(j.args -> 'meta') = 'object'
          AND w.due_since <= now() - make_interval(secs => q.priority_aging_s)
        ORDER BY j.id
        LIMIT max_jobs
        FOR UPDATE OF j SKIP LOCKED
    )
    UPDATE procrastinate_jobs AS j
    SET priority = aged.target,
        args = CASE WHEN j.args -> 'meta' ? 'base_priority' THEN j.args
                    ELSE jsonb_set(j.args, '{meta,base_priority}', to_jsonb(j.priority)) END
    FROM aged
    WHERE j.id = aged.id AND aged.target > j.priority;
    GET DIAGNOSTICS raised = ROW_COUNT;
    RETURN raised;
END;
$$;
REVOKE ALL ON FUNCTION queue.age_priorities(integer) FROM PUBLIC;
COMMENT ON FUNCTION queue.age_priorities(integer) IS
    'Raise the priority of jobs waiting longer than their queue''s priority_aging_s (a level per period, up to 10); returns how many.';
