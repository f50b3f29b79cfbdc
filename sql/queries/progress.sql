-- name: report_progress :one
-- Record a running job's progress; false when the job is not running.
SELECT queue.report_progress(%(job_id)s, %(percent)s, %(message)s);
