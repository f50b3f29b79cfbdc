-- 'deferred' events for jobs deferred outside queue.enqueue, one statement per
-- insert (queue.record_jobs_deferred); procrastinate's row trigger is disabled (0014).
CREATE OR REPLACE TRIGGER jobs_record_deferred
    AFTER INSERT ON procrastinate_jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION queue.record_jobs_deferred();
