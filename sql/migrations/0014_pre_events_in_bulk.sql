-- 0014_pre_events_in_bulk: no event row per job transition on the hot path.
--
-- Intent: procrastinate's row triggers write a procrastinate_events row for
-- every insert, every status change and every schedule: two or three rows per
-- job, each through a plpgsql call, a heap insert, two index inserts and a
-- foreign-key check. They cost the claim about 30 µs per job and the enqueue
-- about a quarter of its time. They are disabled here; what our features read
-- is written in bulk instead, one statement per batch:
-- - 'started', by queue.fetch_jobs for the jobs it claims (queue.jobs,
--   queue.explain_job);
-- - 'deferred', by the statement trigger jobs_record_deferred, only for jobs
--   deferred outside queue.enqueue, which carry no enqueued_at (queue.overview);
-- - finish times come from queue.job_outcomes (queue.job_finished_at).
-- procrastinate's own readers of events (its shell's history, its admin) see
-- only those types from now on.
--
-- Lock impact: ALTER TABLE ... DISABLE TRIGGER takes a SHARE ROW EXCLUSIVE lock
-- on procrastinate_jobs for a moment: inserts and updates of jobs wait for the
-- migrate transaction to commit.
-- Operator steps: a procrastinate upgrade that re-creates these triggers enables
-- them again (correct, only slower); disable them again after it with the three
-- statements below.

ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_trigger_status_events_update_v1;
ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_trigger_status_events_insert_v1;
ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_trigger_scheduled_events_v1;
