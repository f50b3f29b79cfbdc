-- name: enqueue :one
-- Enqueue one job through the single enqueue path.
SELECT job_id, duplicate
FROM queue.enqueue(
    %(queue)s, %(job_type)s, %(data)s, %(priority)s, %(run_at)s, %(idempotency_key)s, %(meta)s,
    %(key_scope)s, %(ordering_key)s
);

-- name: enqueue_many :many
-- Enqueue a batch of jobs atomically; rows come back in input order. The
-- callers (app.services) have checked every payload with its model.
SELECT job_index, job_id, duplicate
FROM queue.enqueue_many_checked(%(jobs)s);
