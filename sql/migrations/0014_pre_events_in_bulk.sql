-- 0014_pre_events_in_bulk: no event row per job transition on the hot path.
--
-- Intent: procrastinate's row triggers write a procrastinate_events row for
-- every insert, every status change and every schedule: two or three rows per
-- job, each through a plpgsql call, a heap insert, two index inserts and a
-- foreign-key check. They cost the claim about 30 µs per job and the enqueue
-- about a quarter of its time. They are disabled here; what our features read
-- is written in bulk instead, one statement per batch:
-- - start marks, in the new table queue.job_starts: a worker writes its jobs'
--   starts in bulk (queue.mark_jobs_started) and the completion deletes them.
--   They say when a running job started (queue.jobs, queue.explain_job) and,
--   for the rescue, whether a dead worker's job had started at all: a job it
--   claimed and never started goes back without spending an attempt. UNLOGGED:
--   no WAL for a row that lives as long as one attempt; a crash of the server
--   empties it, and the jobs then running are returned uncounted;
-- - 'deferred', by the statement trigger jobs_record_deferred, only for jobs
--   deferred outside queue.enqueue, which carry no enqueued_at (queue.overview);
-- - finish and earlier start times come from queue.job_outcomes
--   (queue.job_finished_at, queue.job_started_at); queue.job_last_event_at,
--   which read them from events, goes.
-- procrastinate's own readers of events (its shell's history, its admin) see
-- only those types from now on.
--
-- Lock impact: the new table locks nothing else. ALTER TABLE ... DISABLE TRIGGER takes a SHARE ROW EXCLUSIVE lock
-- on procrastinate_jobs for a moment: inserts and updates of jobs wait for the
-- migrate transaction to commit.
-- Operator steps: a procrastinate upgrade that re-creates these triggers enables
-- them again (correct, only slower); disable them again after it with the three
-- statements below.

ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_trigger_status_events_update_v1;
ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_trigger_status_events_insert_v1;
ALTER TABLE procrastinate_jobs DISABLE TRIGGER procrastinate_trigger_scheduled_events_v1;

CREATE UNLOGGED TABLE queue.job_starts (
    job_id bigint NOT NULL,
    worker_id bigint NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_starts_pkey PRIMARY KEY (job_id)
);
COMMENT ON TABLE queue.job_starts IS
    'Start marks of running attempts, written in bulk by workers and deleted by the completion; unlogged.';

-- CASCADE: the views queue.jobs and queue.failures read it until their object
-- files, applied right after this migration in the same transaction, define
-- them again without it (with their grants). A view of your own on top of
-- them is dropped too: define it again after migrating.
DROP FUNCTION IF EXISTS queue.job_last_event_at(bigint, procrastinate_job_event_type[]) CASCADE;
