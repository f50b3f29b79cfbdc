-- Remove jobs of a queue in one state: 'completed' (succeeded), 'failed',
-- 'delayed' (waiting for a future run time) or 'wait' (due and waiting).
-- Running jobs are never touched. Keys of removed waiting jobs are released, so
-- the same work can be enqueued again. Returns how many jobs were removed.
CREATE OR REPLACE FUNCTION queue.clear_queue(queue_name text, kind text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    removed bigint[];
BEGIN
    IF kind NOT IN ('completed', 'failed', 'delayed', 'wait') THEN
        RAISE EXCEPTION 'cannot clear "%": choose completed, failed, delayed or wait', kind
            USING ERRCODE = 'QS009';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM queue.queues AS q WHERE q.name = clear_queue.queue_name) THEN
        RAISE EXCEPTION 'unknown queue "%"', clear_queue.queue_name USING ERRCODE = 'QS001';
    END IF;
    WITH gone AS (
        DELETE FROM procrastinate_jobs AS j
        WHERE j.queue_name = clear_queue.queue_name
          AND CASE kind
                WHEN 'completed' THEN j.status = 'succeeded'
                WHEN 'failed' THEN j.status = 'failed'
                WHEN 'delayed' THEN j.status = 'todo' AND j.scheduled_at > now()
                ELSE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
              END
        RETURNING j.id
    )
    SELECT coalesce(array_agg(id), '{}') INTO removed FROM gone;
    IF kind IN ('delayed', 'wait') THEN
        DELETE FROM queue.idempotency_keys AS k WHERE k.job_id = ANY (removed);
        -- Removed waiting jobs count as cancelled for their dependants and batches.
        PERFORM queue.jobs_ended(removed, array_fill('cancelled'::text, ARRAY[cardinality(removed)]));
    END IF;
    RETURN cardinality(removed);
END;
$$;
REVOKE ALL ON FUNCTION queue.clear_queue(text, text) FROM PUBLIC;
