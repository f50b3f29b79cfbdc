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

-- name: get_job :one
-- One job as the API shows it: its row of queue.jobs plus its raw run time.
SELECT id, queue, job_type, state, priority, attempts, max_attempts, enqueued_at,
       scheduled_at, started_at, finished_at, last_error_type, last_error,
       idempotency_key, user_id, venue_id, request_id, data,
       progress_percent, progress_message, progress_at, held, waiting_for, concurrency_key
FROM queue.jobs
WHERE id = %(job_id)s;

-- name: list_job_outcomes :many
-- Every attempt of a job, oldest first.
SELECT attempt, status, error_type, error_message, result, started_at, finished_at
FROM queue.job_outcomes
WHERE job_id = %(job_id)s
ORDER BY attempt, id;

-- name: get_request_hash :one
-- The request fingerprint stored with an idempotency key (given, or the job's own).
SELECT k.request_hash
FROM queue.idempotency_keys AS k
WHERE k.key = coalesce(
    %(idempotency_key)s::text,
    (SELECT j.args -> 'meta' ->> 'idempotency_key' FROM procrastinate_jobs AS j WHERE j.id = %(job_id)s)
);
