-- 0026_pre_job_progress: a running job's progress, as its task reports it.
--
-- Intent: a long task (a report, a batch of mints) says how far it is, a
-- percent and a short message, and the API, queue.jobs and the console show
-- it. One row per job that reported, written by queue.report_progress while
-- the job runs and kept after it ends (its last word). No foreign key: a
-- job's deletion, which completions do in bulk, then costs nothing here;
-- retention removes the rows of jobs that are gone.
--
-- Lock impact: a new table.
-- Operator steps: none.

CREATE TABLE queue.job_progress (
    job_id bigint PRIMARY KEY,
    percent double precision NOT NULL CHECK (percent >= 0 AND percent <= 100),
    message text NOT NULL DEFAULT '' CHECK (char_length(message) <= 200),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE queue.job_progress IS
    'The progress a job''s task last reported (queue.report_progress): percent, message, when.';
CREATE INDEX job_progress_updated_at_idx ON queue.job_progress (updated_at);
GRANT SELECT ON queue.job_progress TO queue_reader;
