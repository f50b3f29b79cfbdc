-- name: enqueue :one
-- Enqueue one job through the single enqueue path.
SELECT job_id, duplicate
FROM queue.enqueue(
    %(queue)s, %(job_type)s, %(data)s, %(priority)s, %(run_at)s, %(idempotency_key)s, %(meta)s,
    %(key_scope)s, %(ordering_key)s, %(concurrency_key)s, %(depends_on)s, %(unique_while)s,
    %(on_duplicate)s
);

-- name: enqueue_many :many
-- Enqueue a batch of jobs atomically; rows come back in input order. The
-- callers (app.services) have checked every payload with its model.
SELECT job_index, job_id, duplicate
FROM queue.enqueue_many_checked(%(jobs)s);

-- name: enqueue_batch :many
-- Enqueue a batch with its callbacks atomically; rows come back in input order.
SELECT batch_id, job_index, job_id, duplicate, replayed
FROM queue.enqueue_batch(
    %(jobs)s, %(on_complete)s, %(on_failure)s, %(owner)s, %(idempotency_key)s, %(request_hash)s
);

-- name: get_batch :one
-- A batch's counts and callbacks, with who may read it.
SELECT s.id, s.state, s.total, s.succeeded, s.failed, s.cancelled, s.pending, s.percent,
       s.complete_job_id, s.failure_job_id, s.created_at, s.finished_at,
       b.owner ->> 'user_id' AS user_id, b.owner ->> 'venue_id' AS venue_id, b.request_hash
FROM queue.batch_status AS s
JOIN queue.batches AS b ON b.id = s.id
WHERE s.id = %(batch_id)s;
