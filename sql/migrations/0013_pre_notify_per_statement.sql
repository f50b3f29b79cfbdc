-- 0013_pre_notify_per_statement: one NOTIFY per queue per statement, not two per job.
--
-- Intent: procrastinate's row trigger procrastinate_jobs_notify_queue_job_inserted_v1
-- sends two notifications for every inserted job; workers only need waking once.
-- It is disabled here, and the statement trigger jobs_notify_inserted
-- (sql/triggers, queue.notify_jobs_inserted) sends one per queue per statement,
-- in the same migrate transaction, so no insert goes unannounced.
--
-- Lock impact: ALTER TABLE ... DISABLE TRIGGER and CREATE TRIGGER take a SHARE
-- ROW EXCLUSIVE lock on procrastinate_jobs for a moment: inserts and updates of
-- jobs wait for the migrate transaction to commit.
-- Operator steps: a procrastinate upgrade that re-creates its trigger enables it
-- again (workers are then woken twice, which is harmless); run
-- `ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_jobs_notify_queue_job_inserted_v1`
-- after it.

ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_jobs_notify_queue_job_inserted_v1;
