-- name: explain_job :many
-- Why a job is not running: one row per reason, most decisive first (QS013 when it does not exist).
SELECT reason, detail, until, blocking_job_id
FROM queue.explain_job(%(job_id)s, %(stalled_after_s)s);
