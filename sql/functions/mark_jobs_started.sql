-- Record that a worker started these jobs, in one statement per batch (the
-- worker's completion writer sends them as they start). Only jobs still
-- running for that worker are marked. The completion deletes the marks; the
-- rescue reads them to tell a started attempt from a claimed, unstarted one.
CREATE OR REPLACE FUNCTION queue.mark_jobs_started(job_ids bigint[], worker_id bigint)
    RETURNS void
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    INSERT INTO queue.job_starts (job_id, worker_id)
    SELECT j.id, j.worker_id
    FROM procrastinate_jobs AS j
    WHERE j.id = ANY (mark_jobs_started.job_ids)
      AND j.status = 'doing' AND j.worker_id = mark_jobs_started.worker_id
    ON CONFLICT ON CONSTRAINT job_starts_pkey
        DO UPDATE SET worker_id = excluded.worker_id, started_at = excluded.started_at;
END;
REVOKE ALL ON FUNCTION queue.mark_jobs_started(bigint[], bigint) FROM PUBLIC;
