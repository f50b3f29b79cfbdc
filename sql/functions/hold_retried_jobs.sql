-- Hold retried jobs again for those of their dependencies that are waiting or
-- running again (retried in the same action, say): retrying a failed payment
-- and the mint it failed runs the mint after the payment, not beside it. A
-- dependency that has ended stays as it ended and holds nothing. Called by
-- every retry (queue.retry_job, queue.retry_failed_jobs, the console's group
-- retry) after the jobs are back in their queue.
CREATE OR REPLACE FUNCTION queue.hold_retried_jobs(job_ids bigint[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    held_ids bigint[];
    held_counts integer[];
BEGIN
    WITH again AS (
        UPDATE queue.job_dependencies AS d
        SET outcome = NULL, resolved_at = NULL
        FROM procrastinate_jobs AS dependency
        WHERE d.job_id = ANY (job_ids)
          AND dependency.id = d.depends_on
          AND dependency.status IN ('todo', 'doing')
        RETURNING d.job_id
    )
    SELECT array_agg(a.job_id ORDER BY a.job_id), array_agg(a.n ORDER BY a.job_id)
    INTO held_ids, held_counts
    FROM (SELECT again.job_id, count(*)::integer AS n FROM again GROUP BY again.job_id) AS a;
    IF held_ids IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO queue.job_waits AS w (job_id, remaining, run_at)
    SELECT h.job_id, h.n, NULL FROM unnest(held_ids, held_counts) AS h(job_id, n)
    ON CONFLICT (job_id) DO UPDATE SET remaining = excluded.remaining, created_at = now();
    UPDATE procrastinate_jobs AS j SET scheduled_at = 'infinity'
    WHERE j.id = ANY (held_ids) AND j.status = 'todo';
END;
$$;
REVOKE ALL ON FUNCTION queue.hold_retried_jobs(bigint[]) FROM PUBLIC;
