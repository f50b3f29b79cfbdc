-- name: cancel_job :one
-- Cancel a waiting job or ask a running one to abort; returns the new state.
SELECT queue.cancel_job(%(job_id)s);

-- name: retry_job :exec
-- Requeue one failed job with a fresh set of attempts.
SELECT queue.retry_job(%(job_id)s);

-- name: retry_failed_jobs :one
-- Requeue every failed job of a queue; returns how many.
SELECT queue.retry_failed_jobs(%(queue)s);

-- name: run_retention :many
-- One bounded batch of retention; rows deleted per table.
SELECT table_name, deleted FROM queue.run_retention(%(batch_size)s);

-- name: get_job_state :one
-- The current state of a job, or no row.
SELECT status::text FROM procrastinate_jobs WHERE id = %(job_id)s;
