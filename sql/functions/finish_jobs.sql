-- Complete a batch of attempts: set each job's final state (or delete it when
-- its queue deletes succeeded jobs), count the attempt, and record the outcome,
-- all in one statement. Only jobs still running for the worker that claimed
-- them are touched (worker_id NULL means that worker's row was pruned, not that
-- another took the job): a job rescued and claimed again meanwhile belongs to
-- its new worker. Returns how many jobs were completed.
CREATE OR REPLACE FUNCTION queue.finish_jobs(
    job_ids bigint[],
    statuses procrastinate_job_status[],
    error_types text[],
    error_messages text[],
    results jsonb[],
    started_at timestamptz[],
    finished_at timestamptz[],
    worker_ids bigint[]
)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    completed bigint;
    delete_ids bigint[];
    keep_ids bigint[];
    keep_statuses procrastinate_job_status[];
    ended_ids bigint[];
    ended_outcomes text[];
BEGIN
    -- 1. Lock the attempts whose jobs still run for the worker that claimed
    --    them and record their outcomes. From here on only these rows are
    --    touched, by id: every step costs in proportion to the batch (a join
    --    of two row sets the planner guesses at one row each went quadratic).
    WITH attempt AS MATERIALIZED (
        SELECT a.*, j.queue_name, j.task_name, j.attempts + 1 AS attempt,
               j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
               coalesce(q.keep_results, false) AS keep_results,
               a.status = 'succeeded'
                   AND coalesce(t.keep_succeeded, q.keep_succeeded) = '0' AS delete_job
        FROM unnest(job_ids, statuses, error_types, error_messages, results, started_at, finished_at, worker_ids)
            AS a(job_id, status, error_type, error_message, result, started_at, finished_at, worker_id)
        JOIN procrastinate_jobs AS j
            ON j.id = a.job_id AND j.status = 'doing' AND (j.worker_id IS NULL OR j.worker_id = a.worker_id)
        LEFT JOIN queue.queues AS q ON q.name = j.queue_name
        LEFT JOIN queue.job_types AS t ON t.name = j.task_name
        FOR UPDATE OF j
    ),
    recorded AS (
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            result, worker_id, started_at, finished_at, idempotency_key
        )
        SELECT attempt.job_id, attempt.queue_name, attempt.task_name, attempt.attempt,
               attempt.status::text, attempt.error_type, attempt.error_message,
               CASE WHEN attempt.keep_results THEN attempt.result END,
               attempt.worker_id, attempt.started_at, attempt.finished_at,
               attempt.idempotency_key
        FROM attempt
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM recorded),
           array_agg(attempt.job_id) FILTER (WHERE attempt.delete_job),
           array_agg(attempt.job_id) FILTER (WHERE NOT attempt.delete_job),
           array_agg(attempt.status) FILTER (WHERE NOT attempt.delete_job),
           array_agg(attempt.job_id),
           array_agg(attempt.status::text)
    INTO completed, delete_ids, keep_ids, keep_statuses, ended_ids, ended_outcomes
    FROM attempt;

    -- 2. The attempts are over: their start marks go.
    DELETE FROM queue.job_starts AS s WHERE s.job_id = ANY (job_ids);

    -- 3. Succeeded jobs of queues (or types) that keep none go at once.
    IF delete_ids IS NOT NULL THEN
        DELETE FROM procrastinate_jobs AS j WHERE j.id = ANY (delete_ids);
    END IF;

    -- 4. The others take their final state, with the attempt counted. They
    --    let go of their worker (the outcome row keeps who ran it): otherwise
    --    deleting that worker's row when it stops sets worker_id NULL on every
    --    job it ever finished, one statement as long as its history.
    IF keep_ids IS NOT NULL THEN
        UPDATE procrastinate_jobs AS j
        SET status = k.status, abort_requested = false, attempts = j.attempts + 1,
            worker_id = NULL
        FROM unnest(keep_ids, keep_statuses) AS k(id, status)
        WHERE j.id = k.id;
    END IF;
    -- 5. Dependants and batches count the ended jobs. Most batches have
    --    neither: one probe of two small partial indexes decides.
    IF EXISTS (SELECT 1 FROM queue.job_dependencies AS d
               WHERE d.depends_on = ANY (ended_ids) AND d.outcome IS NULL)
       OR EXISTS (SELECT 1 FROM queue.batch_jobs AS b
                  WHERE b.job_id = ANY (ended_ids) AND b.outcome IS NULL) THEN
        PERFORM queue.jobs_ended(ended_ids, ended_outcomes);
    END IF;
    RETURN completed;
END;
$$;
REVOKE ALL ON FUNCTION queue.finish_jobs(bigint[], procrastinate_job_status[], text[], text[], jsonb[], timestamptz[], timestamptz[], bigint[]) FROM PUBLIC;
