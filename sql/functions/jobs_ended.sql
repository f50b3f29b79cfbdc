-- What follows from jobs reaching a final state (succeeded, failed, cancelled,
-- aborted): their dependants count them (queue.resolve_dependencies) and
-- their batches count them (queue.count_batch_jobs). A dependant failed or
-- cancelled by its dependency, or a batch's failure callback cancelled
-- because the batch ended without a failure, has ended too, so the loop goes
-- on with those until nothing more ends. Every path that ends a job calls
-- this with the jobs it ended: queue.finish_jobs (only when one of its jobs
-- has a dependant or a batch), queue.cancel_job, the rescue, clear_queue and
-- the console's group cancel.
CREATE OR REPLACE FUNCTION queue.jobs_ended(ended_ids bigint[], ended_outcomes text[])
    RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    ids bigint[] := ended_ids;
    outcomes text[] := ended_outcomes;
    next_ids bigint[];
    next_outcomes text[];
BEGIN
    WHILE coalesce(cardinality(ids), 0) > 0 LOOP
        -- An ended job waits for nothing any more (a held job cancelled).
        DELETE FROM queue.job_waits AS w WHERE w.job_id = ANY (ids);

        SELECT array_agg(e.job_id), array_agg(e.outcome) INTO next_ids, next_outcomes
        FROM (
            SELECT r.job_id, r.outcome FROM queue.resolve_dependencies(ids, outcomes) AS r
            UNION ALL
            SELECT c.job_id, c.outcome FROM queue.count_batch_jobs(ids, outcomes) AS c
        ) AS e;
        ids := next_ids;
        outcomes := next_outcomes;
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION queue.jobs_ended(bigint[], text[]) FROM PUBLIC;
