-- Count ended jobs off their dependants' waits. A dependant whose last
-- dependency ended takes the run time it asked for (and its workers are
-- woken); one whose 'fail' dependency failed fails at once, and one whose
-- 'fail' dependency was cancelled or aborted is cancelled, each with an
-- outcome row naming the dependency. Returns the dependants it ended, for
-- queue.jobs_ended to follow in turn.
-- Locks: the dependants' job rows, then their waits rows, each in id order:
-- the order queue.cancel_job and a replacing enqueue take them in, so two
-- paths never wait on each other in a circle.
CREATE OR REPLACE FUNCTION queue.resolve_dependencies(ended_ids bigint[], ended_outcomes text[])
    RETURNS TABLE (job_id bigint, outcome text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    dependants bigint[];
    counts integer[];
    doomed_by bigint[];
    doomed_outcomes text[];
    left_ids bigint[];
    left_counts integer[];
    left_run_at timestamptz[];
    left_doomed_by bigint[];
    left_doomed_outcomes text[];
    woken_queues text[];
BEGIN
    WITH resolved AS (
        UPDATE queue.job_dependencies AS d
        SET outcome = e.outcome, resolved_at = now()
        FROM unnest(ended_ids, ended_outcomes) AS e(id, outcome)
        WHERE d.depends_on = e.id AND d.outcome IS NULL
        RETURNING d.job_id, d.depends_on, d.on_failure, d.outcome
    ),
    per_job AS (
        SELECT r.job_id, count(*)::integer AS n,
               min(r.depends_on) FILTER (WHERE r.on_failure = 'fail' AND r.outcome <> 'succeeded') AS doomed_by,
               (array_agg(r.outcome ORDER BY r.depends_on)
                   FILTER (WHERE r.on_failure = 'fail' AND r.outcome <> 'succeeded'))[1] AS doomed_outcome
        FROM resolved AS r
        GROUP BY r.job_id
    )
    SELECT array_agg(p.job_id ORDER BY p.job_id), array_agg(p.n ORDER BY p.job_id),
           array_agg(p.doomed_by ORDER BY p.job_id), array_agg(p.doomed_outcome ORDER BY p.job_id)
    INTO dependants, counts, doomed_by, doomed_outcomes
    FROM per_job AS p;
    IF dependants IS NULL THEN
        RETURN;
    END IF;

    PERFORM 1 FROM procrastinate_jobs AS j WHERE j.id = ANY (dependants) ORDER BY j.id FOR UPDATE;
    PERFORM 1 FROM queue.job_waits AS w WHERE w.job_id = ANY (dependants) ORDER BY w.job_id FOR UPDATE;

    -- Count down. A dependant without a waits row has ended already (or was
    -- released): it needs nothing more.
    WITH counted AS (
        UPDATE queue.job_waits AS w
        SET remaining = greatest(w.remaining - p.n, 0)
        FROM unnest(dependants, counts, doomed_by, doomed_outcomes) AS p(job_id, n, doomed_by, doomed_outcome)
        WHERE w.job_id = p.job_id
        RETURNING w.job_id, w.remaining, w.run_at, p.doomed_by, p.doomed_outcome
    )
    SELECT array_agg(c.job_id), array_agg(c.remaining), array_agg(c.run_at),
           array_agg(c.doomed_by), array_agg(c.doomed_outcome)
    INTO left_ids, left_counts, left_run_at, left_doomed_by, left_doomed_outcomes
    FROM counted AS c;
    IF left_ids IS NULL THEN
        RETURN;
    END IF;

    -- Released: every dependency ended and none doomed it.
    WITH released AS (
        UPDATE procrastinate_jobs AS j SET scheduled_at = l.run_at
        FROM unnest(left_ids, left_counts, left_run_at, left_doomed_by) AS l(job_id, remaining, run_at, doomed_by)
        WHERE j.id = l.job_id AND l.remaining = 0 AND l.doomed_by IS NULL AND j.status = 'todo'
        RETURNING j.queue_name
    )
    SELECT array_agg(DISTINCT r.queue_name) INTO woken_queues FROM released AS r;
    PERFORM queue.wake_workers(q) FROM unnest(woken_queues) AS q;

    -- Doomed: a 'fail' dependency did not succeed.
    RETURN QUERY
    WITH doomed AS (
        UPDATE procrastinate_jobs AS j
        SET status = CASE WHEN l.doomed_outcome = 'failed' THEN 'failed' ELSE 'cancelled' END::procrastinate_job_status
        FROM unnest(left_ids, left_doomed_by, left_doomed_outcomes) AS l(job_id, doomed_by, doomed_outcome)
        WHERE j.id = l.job_id AND l.doomed_by IS NOT NULL AND j.status = 'todo'
        RETURNING j.id, j.status::text AS status, j.queue_name, j.task_name, j.attempts,
                  j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key, l.doomed_by, l.doomed_outcome
    ),
    recorded AS (
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            started_at, finished_at, idempotency_key
        )
        SELECT d.id, d.queue_name, d.task_name, d.attempts + 1, d.status,
               CASE d.status WHEN 'failed' THEN 'DependencyFailed' ELSE 'DependencyCancelled' END,
               format('dependency job %s %s', d.doomed_by,
                      CASE d.doomed_outcome WHEN 'failed' THEN 'failed' ELSE 'was ' || d.doomed_outcome END),
               now(), now(), d.idempotency_key
        FROM doomed AS d
        RETURNING 1
    )
    SELECT d.id, d.status FROM doomed AS d;

    DELETE FROM queue.job_waits AS w
    USING unnest(left_ids, left_counts, left_doomed_by) AS l(job_id, remaining, doomed_by)
    WHERE w.job_id = l.job_id AND (l.remaining = 0 OR l.doomed_by IS NOT NULL);
END;
$$;
REVOKE ALL ON FUNCTION queue.resolve_dependencies(bigint[], text[]) FROM PUBLIC;
