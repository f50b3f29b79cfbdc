-- Record how far a running job is: a percent (0 to 100) and a short message
-- (cut to 200 characters). Only a running job reports: for any other the call
-- records nothing and returns false, so a task that outlived its claim (its
-- job rescued or aborted) cannot write over what the next attempt says.
CREATE OR REPLACE FUNCTION queue.report_progress(job_id bigint, percent double precision, message text DEFAULT '')
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    IF percent IS NULL OR percent < 0 OR percent > 100 THEN
        RAISE EXCEPTION 'progress must be a percent from 0 to 100, got %', percent USING ERRCODE = '22023';
    END IF;
    INSERT INTO queue.job_progress AS p (job_id, percent, message, updated_at)
    SELECT j.id, report_progress.percent, left(coalesce(report_progress.message, ''), 200), now()
    FROM procrastinate_jobs AS j
    WHERE j.id = report_progress.job_id AND j.status = 'doing'
    ON CONFLICT ON CONSTRAINT job_progress_pkey DO UPDATE
        SET percent = excluded.percent, message = excluded.message, updated_at = excluded.updated_at;
    RETURN FOUND;
END;
$$;
REVOKE ALL ON FUNCTION queue.report_progress(bigint, double precision, text) FROM PUBLIC;
COMMENT ON FUNCTION queue.report_progress(bigint, double precision, text) IS
    'Record a running job''s progress (percent 0-100, message up to 200 characters); false when the job is not running.';
