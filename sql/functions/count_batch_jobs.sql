-- Count ended jobs into their batches. The first failure releases the
-- batch's on_failure callback; the last job to end releases on_complete and,
-- when nothing failed, cancels the on_failure callback, which is returned
-- (with 'cancelled') for queue.jobs_ended to follow. A callback is held like
-- a waiting dependant (scheduled_at = 'infinity') and released to run now.
-- Locks: the batches' rows in id order, then the callbacks' job rows.
CREATE OR REPLACE FUNCTION queue.count_batch_jobs(ended_ids bigint[], ended_outcomes text[])
    RETURNS TABLE (job_id bigint, outcome text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    batch_ids bigint[];
    succeeded_counts integer[];
    failed_counts integer[];
    cancelled_counts integer[];
    release_ids bigint[];
    cancel_ids bigint[];
    woken_queues text[];
BEGIN
    WITH counted AS (
        UPDATE queue.batch_jobs AS bj
        SET outcome = e.outcome
        FROM unnest(ended_ids, ended_outcomes) AS e(id, outcome)
        WHERE bj.job_id = e.id AND bj.outcome IS NULL
        RETURNING bj.batch_id, bj.outcome
    )
    SELECT array_agg(c.batch_id ORDER BY c.batch_id), array_agg(c.s ORDER BY c.batch_id),
           array_agg(c.f ORDER BY c.batch_id), array_agg(c.x ORDER BY c.batch_id)
    INTO batch_ids, succeeded_counts, failed_counts, cancelled_counts
    FROM (
        SELECT c.batch_id,
               count(*) FILTER (WHERE c.outcome = 'succeeded')::integer AS s,
               count(*) FILTER (WHERE c.outcome = 'failed')::integer AS f,
               count(*) FILTER (WHERE c.outcome IN ('cancelled', 'aborted'))::integer AS x
        FROM counted AS c
        GROUP BY c.batch_id
    ) AS c;
    IF batch_ids IS NULL THEN
        RETURN;
    END IF;

    PERFORM 1 FROM queue.batches AS b WHERE b.id = ANY (batch_ids) ORDER BY b.id FOR UPDATE;

    -- The rows are locked: this statement reads their latest counts, before
    -- and after its own.
    WITH updated AS (
        UPDATE queue.batches AS b
        SET succeeded = b.succeeded + p.s,
            failed = b.failed + p.f,
            cancelled = b.cancelled + p.x,
            failure_released = b.failure_released OR (p.f > 0 AND b.failure_job_id IS NOT NULL),
            finished_at = CASE WHEN b.succeeded + b.failed + b.cancelled + p.s + p.f + p.x >= b.total
                               THEN now() ELSE b.finished_at END
        FROM unnest(batch_ids, succeeded_counts, failed_counts, cancelled_counts) AS p(id, s, f, x)
        WHERE b.id = p.id
        RETURNING b.complete_job_id, b.failure_job_id, b.failed,
                  b.finished_at IS NOT NULL AND b.succeeded + b.failed + b.cancelled = b.total
                      AND b.succeeded + b.failed + b.cancelled - p.s - p.f - p.x < b.total AS just_finished,
                  b.failed > 0 AND b.failed - p.f = 0 AS first_failure
    )
    SELECT array_remove(array_agg(u.complete_job_id) FILTER (WHERE u.just_finished)
                        || array_agg(u.failure_job_id) FILTER (WHERE u.first_failure), NULL),
           array_remove(array_agg(u.failure_job_id) FILTER (WHERE u.just_finished AND u.failed = 0), NULL)
    INTO release_ids, cancel_ids
    FROM updated AS u;

    IF release_ids IS NOT NULL THEN
        WITH released AS (
            UPDATE procrastinate_jobs AS j SET scheduled_at = NULL
            WHERE j.id = ANY (release_ids) AND j.status = 'todo' AND j.scheduled_at = 'infinity'
            RETURNING j.queue_name
        )
        SELECT array_agg(DISTINCT r.queue_name) INTO woken_queues FROM released AS r;
        PERFORM queue.wake_workers(q) FROM unnest(woken_queues) AS q;
    END IF;

    IF cancel_ids IS NOT NULL THEN
        RETURN QUERY
        WITH cancelled AS (
            UPDATE procrastinate_jobs AS j SET status = 'cancelled'
            WHERE j.id = ANY (cancel_ids) AND j.status = 'todo'
            RETURNING j.id, j.queue_name, j.task_name, j.attempts,
                      j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
                      j.args -> 'meta' ->> 'batch_id' AS batch_id
        ),
        recorded AS (
            INSERT INTO queue.job_outcomes (
                job_id, queue_name, job_type, attempt, status, error_type, error_message,
                started_at, finished_at, idempotency_key
            )
            SELECT c.id, c.queue_name, c.task_name, c.attempts + 1, 'cancelled', 'BatchWithoutFailure',
                   format('batch %s ended without a failed job', c.batch_id), now(), now(), c.idempotency_key
            FROM cancelled AS c
            RETURNING 1
        )
        SELECT c.id, 'cancelled'::text FROM cancelled AS c;
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION queue.count_batch_jobs(bigint[], text[]) FROM PUBLIC;
