-- Record the dependencies of the new jobs of one enqueue call and hold them.
-- job_ids and duplicates are in the batch's job order; a dependency named by
-- index takes the id that job got (the existing job, for a duplicate). A
-- duplicate's own depends_on is not added: it is the existing job.
-- A dependency named by id must be a job that existed before this call (the
-- jobs of the call are named by index, so no call builds a cycle) and still
-- exists, or one whose final outcome is recorded. One that has already ended
-- is counted at once, as if it ended now.
-- The dependants were deferred with scheduled_at = 'infinity'; their waits
-- rows keep the run time each asked for.
CREATE OR REPLACE FUNCTION queue.add_dependencies(
    batch queue.enqueue_row[],
    job_ids bigint[],
    duplicates boolean[],
    label_index boolean
)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    bad record;
    ended_ids bigint[];
    ended_outcomes text[];
    dep_index integer[];
    dep_job bigint[];
    dep_on bigint[];
    dep_policy text[];
    dep_by_id boolean[];
    dep_run_at timestamptz[];
BEGIN
    -- Every dependency of a new job, with the id it names.
    SELECT array_agg(b.job_index), array_agg(job_ids[b.job_index + 1]),
           array_agg(CASE WHEN jsonb_typeof(d.dep) = 'number' THEN d.dep::text::bigint
                          WHEN d.dep ? 'job_id' THEN (d.dep ->> 'job_id')::bigint
                          ELSE job_ids[(d.dep ->> 'index')::integer + 1] END),
           array_agg(coalesce(d.dep ->> 'on_failure', 'fail')),
           array_agg(jsonb_typeof(d.dep) = 'number' OR d.dep ? 'job_id'),
           array_agg(b.run_at)
    INTO dep_index, dep_job, dep_on, dep_policy, dep_by_id, dep_run_at
    FROM unnest(batch) AS b
    CROSS JOIN LATERAL jsonb_array_elements(b.depends_on) AS d(dep)
    WHERE b.depends_on IS NOT NULL AND NOT duplicates[b.job_index + 1];
    IF dep_index IS NULL THEN
        RETURN;
    END IF;

    -- A job named by id must have existed before the call: a new job's id is
    -- named by index. Then it must exist, or have a final outcome recorded
    -- (a succeeded job its queue does not keep).
    SELECT n.job_index, n.depends_on, c.in_call
    INTO bad
    FROM unnest(dep_index, dep_job, dep_on, dep_policy, dep_by_id)
        AS n(job_index, job_id, depends_on, on_failure, by_id)
    CROSS JOIN LATERAL (
        SELECT EXISTS (SELECT 1 FROM unnest(job_ids, duplicates) AS c(id, duplicate)
                       WHERE c.id = n.depends_on AND NOT c.duplicate) AS in_call
    ) AS c
    WHERE n.by_id
      AND (c.in_call
           OR (NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = n.depends_on)
               AND NOT EXISTS (SELECT 1 FROM queue.job_outcomes AS o
                               WHERE o.job_id = n.depends_on
                                 AND o.status IN ('succeeded', 'failed', 'cancelled', 'aborted'))))
    ORDER BY n.job_index
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%', format('%sdepends_on job %s %s',
                CASE WHEN label_index THEN format('jobs[%s]: ', bad.job_index) ELSE '' END,
                bad.depends_on,
                CASE WHEN bad.in_call THEN 'is a job of this call: name it by {"index": i}'
                     ELSE 'does not exist' END)
            USING ERRCODE = 'QS016';
    END IF;

    -- One row per dependency; named twice, 'fail' wins over 'run'.
    INSERT INTO queue.job_dependencies (job_id, depends_on, on_failure)
    SELECT n.job_id, n.depends_on, min(n.on_failure)
    FROM unnest(dep_index, dep_job, dep_on, dep_policy, dep_by_id)
        AS n(job_index, job_id, depends_on, on_failure, by_id)
    GROUP BY n.job_id, n.depends_on
    ORDER BY n.job_id, n.depends_on;

    INSERT INTO queue.job_waits (job_id, remaining, run_at)
    SELECT n.job_id, count(DISTINCT n.depends_on), max(n.run_at)
    FROM unnest(dep_job, dep_on, dep_run_at) AS n(job_id, depends_on, run_at)
    GROUP BY n.job_id;

    -- Dependencies that have ended already count at once. A job that is gone
    -- counts by its last recorded final outcome.
    SELECT array_agg(e.id), array_agg(e.outcome) INTO ended_ids, ended_outcomes
    FROM (
        SELECT DISTINCT n.depends_on AS id,
               coalesce(
                   CASE WHEN j.status IN ('succeeded', 'failed', 'cancelled', 'aborted') THEN j.status::text END,
                   CASE WHEN j.id IS NULL THEN (
                       SELECT o.status FROM queue.job_outcomes AS o
                       WHERE o.job_id = n.depends_on
                         AND o.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
                       ORDER BY o.attempt DESC, o.id DESC LIMIT 1) END
               ) AS outcome
        FROM unnest(dep_index, dep_job, dep_on, dep_policy, dep_by_id)
        AS n(job_index, job_id, depends_on, on_failure, by_id)
        LEFT JOIN procrastinate_jobs AS j ON j.id = n.depends_on
    ) AS e
    WHERE e.outcome IS NOT NULL;
    IF ended_ids IS NOT NULL THEN
        PERFORM queue.jobs_ended(ended_ids, ended_outcomes);
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION queue.add_dependencies(queue.enqueue_row[], bigint[], boolean[], boolean) FROM PUBLIC;
