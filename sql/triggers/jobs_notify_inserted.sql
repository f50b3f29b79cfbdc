-- One wake-up per queue per statement that inserts jobs (queue.notify_jobs_inserted);
-- procrastinate's per-row trigger is disabled (0013).
CREATE OR REPLACE TRIGGER jobs_notify_inserted
    AFTER INSERT ON procrastinate_jobs
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION queue.notify_jobs_inserted();
