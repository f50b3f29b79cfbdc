-- Delete what retention policy lets go, at most batch_size rows per table and
-- queue per call, so each call is a short transaction; call it again until every count
-- is below batch_size (`queue-service retention` does). Per queue:
--   jobs finished (succeeded, failed, cancelled, aborted) longer ago than the
--     queue's keep_succeeded (a job type's override wins) or keep_failed, with
--     their events and outcomes. A job's finish time is its final outcome's.
--   outcomes whose job is gone (deleted on success, cleared) after 24 hours;
--   idempotency keys older than the queue's idempotency_key_ttl whose job is
--     no longer waiting or running;
--   progress rows of expired jobs, and of jobs gone otherwise after 24 hours;
--   dependency and waits rows of expired jobs, and of jobs gone otherwise
--     after 24 hours;
-- and everywhere: queue_metrics after 30 days, alert_history after 7 days,
-- batches (with their jobs' rows) 7 days after they ended.
CREATE OR REPLACE FUNCTION queue.run_retention(batch_size integer DEFAULT 10000)
    RETURNS TABLE (table_name text, deleted bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    policy record;
    expired bigint[];
    n_jobs bigint := 0;
    n_events bigint := 0;
    n_outcomes bigint := 0;
    n_keys bigint := 0;
    n_progress bigint := 0;
    n_dependencies bigint := 0;
    n_batches bigint;
    n_metrics bigint;
    n_alerts bigint;
    n bigint;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive integer, got %', batch_size USING ERRCODE = '22023';
    END IF;

    FOR policy IN
        SELECT q.name, q.keep_succeeded, q.keep_failed, q.idempotency_key_ttl,
               least(q.keep_succeeded, q.keep_failed,
                     coalesce((SELECT min(t.keep_succeeded) FROM queue.job_types AS t WHERE t.queue = q.name),
                              q.keep_succeeded)) AS shortest
        FROM queue.queues AS q
        ORDER BY q.name
    LOOP
        -- Final outcomes old enough for the shortest keep of this queue, then
        -- the exact rule per job; the newest outcome of a job decides.
        SELECT array_agg(c.job_id) INTO expired
        FROM (
            SELECT o.job_id
            FROM queue.job_outcomes AS o
            JOIN procrastinate_jobs AS j ON j.id = o.job_id
            LEFT JOIN queue.job_types AS t ON t.name = j.task_name
            WHERE o.queue_name = policy.name
              AND o.finished_at < now() - policy.shortest
              AND o.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
              AND j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
              AND o.finished_at < now() - CASE WHEN j.status = 'succeeded'
                                               THEN coalesce(t.keep_succeeded, policy.keep_succeeded)
                                               ELSE policy.keep_failed END
              AND NOT EXISTS (SELECT 1 FROM queue.job_outcomes AS newer
                              WHERE newer.job_id = o.job_id AND newer.finished_at > o.finished_at)
            ORDER BY o.finished_at
            LIMIT batch_size
        ) AS c;

        IF expired IS NOT NULL THEN
            DELETE FROM procrastinate_events WHERE procrastinate_events.job_id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_events := n_events + n;
            DELETE FROM queue.job_outcomes WHERE job_outcomes.job_id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_outcomes := n_outcomes + n;
            DELETE FROM queue.job_progress WHERE job_progress.job_id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_progress := n_progress + n;
            DELETE FROM queue.job_dependencies WHERE job_dependencies.job_id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_dependencies := n_dependencies + n;
            DELETE FROM queue.job_waits WHERE job_waits.job_id = ANY (expired);
            DELETE FROM procrastinate_jobs WHERE id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_jobs := n_jobs + n;
        END IF;

        DELETE FROM queue.job_outcomes
        WHERE id IN (
            SELECT o.id FROM queue.job_outcomes AS o
            WHERE o.queue_name = policy.name
              AND o.finished_at < now() - interval '24 hours'
              AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = o.job_id)
            LIMIT batch_size
        );
        GET DIAGNOSTICS n = ROW_COUNT;
        n_outcomes := n_outcomes + n;

        DELETE FROM queue.idempotency_keys
        WHERE key IN (
            SELECT k.key FROM queue.idempotency_keys AS k
            JOIN queue.job_types AS t ON t.name = k.job_type AND t.queue = policy.name
            WHERE k.created_at < now() - policy.idempotency_key_ttl
              AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j
                              WHERE j.id = k.job_id AND j.status IN ('todo', 'doing'))
            LIMIT batch_size
        );
        GET DIAGNOSTICS n = ROW_COUNT;
        n_keys := n_keys + n;
    END LOOP;

    -- Jobs deleted on success or discarded leave their progress behind.
    DELETE FROM queue.job_progress
    WHERE job_id IN (
        SELECT p.job_id FROM queue.job_progress AS p
        WHERE p.updated_at < now() - interval '24 hours'
          AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = p.job_id)
        LIMIT batch_size
    );
    GET DIAGNOSTICS n = ROW_COUNT;
    n_progress := n_progress + n;

    -- Jobs deleted on success, or cleared, leave their dependencies behind.
    DELETE FROM queue.job_dependencies AS d
    USING (
        SELECT g.job_id, g.depends_on FROM queue.job_dependencies AS g
        WHERE coalesce(g.resolved_at, now() - interval '25 hours') < now() - interval '24 hours'
          AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = g.job_id)
        LIMIT batch_size
    ) AS gone
    WHERE d.job_id = gone.job_id AND d.depends_on = gone.depends_on;
    GET DIAGNOSTICS n = ROW_COUNT;
    n_dependencies := n_dependencies + n;
    DELETE FROM queue.job_waits
    WHERE job_id IN (
        SELECT w.job_id FROM queue.job_waits AS w
        WHERE w.created_at < now() - interval '24 hours'
          AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = w.job_id AND j.status = 'todo')
        LIMIT batch_size
    );

    DELETE FROM queue.batches
    WHERE id IN (SELECT b.id FROM queue.batches AS b
                 WHERE b.finished_at < now() - interval '7 days' LIMIT batch_size);
    GET DIAGNOSTICS n_batches = ROW_COUNT;

    DELETE FROM queue.queue_metrics
    WHERE id IN (SELECT m.id FROM queue.queue_metrics AS m
                 WHERE m.captured_at < now() - interval '30 days' LIMIT batch_size);
    GET DIAGNOSTICS n_metrics = ROW_COUNT;
    DELETE FROM queue.alert_history
    WHERE id IN (SELECT a.id FROM queue.alert_history AS a
                 WHERE a.created_at < now() - interval '7 days' LIMIT batch_size);
    GET DIAGNOSTICS n_alerts = ROW_COUNT;

    RETURN QUERY VALUES
        ('procrastinate_jobs', n_jobs),
        ('procrastinate_events', n_events),
        ('job_outcomes', n_outcomes),
        ('idempotency_keys', n_keys),
        ('job_progress', n_progress),
        ('job_dependencies', n_dependencies),
        ('batches', n_batches),
        ('queue_metrics', n_metrics),
        ('alert_history', n_alerts);
END;
$$;
REVOKE ALL ON FUNCTION queue.run_retention(integer) FROM PUBLIC;
