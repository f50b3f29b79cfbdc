-- name: fetch_jobs :many
-- Claim up to max_jobs due jobs of a queue for a worker (nothing while paused).
SELECT id, queue_name, task_name, priority, lock, queueing_lock, args, status,
       scheduled_at, attempts, abort_requested, worker_id
FROM queue.fetch_jobs(%(queue_name)s, %(worker_id)s, %(max_jobs)s);

-- name: finish_jobs :one
-- Complete a batch of attempts with their outcomes; returns how many completed.
-- Binary parameters: psycopg quotes every element of a text-format
-- array with a regex, about 4x the client CPU of the binary dump.
SELECT queue.finish_jobs(
    %(job_ids)b::bigint[], %(statuses)b::text[]::procrastinate_job_status[], %(error_types)b::text[],
    %(error_messages)b::text[], %(results)b::jsonb[], %(started_at)b::timestamptz[],
    %(finished_at)b::timestamptz[], %(worker_ids)b::bigint[]
);

-- name: mark_jobs_started :exec
-- Record that these jobs of the worker started (one statement per batch).
SELECT queue.mark_jobs_started(%(job_ids)b::bigint[], %(worker_id)s);

-- name: release_jobs :exec
-- Return claimed jobs that never started (worker stopping) to their queue, uncounted.
WITH released AS (
    UPDATE procrastinate_jobs
    SET status = 'todo'
    WHERE id = ANY(%(job_ids)s::bigint[]) AND status = 'doing'
    RETURNING queue_name
)
SELECT queue.wake_workers(queue_name) FROM (SELECT DISTINCT queue_name FROM released) AS q;

-- name: requeue_job :one
-- Put a running job back in its queue after an attempt; returns its new status.
SELECT queue.requeue_job(
    %(job_id)s, %(retry_at)s, %(count_attempt)s, %(outcome)s, %(error_type)s,
    %(error_message)s, %(started_at)s, %(finished_at)s, %(priority)s, %(queue_name)s, %(lock)s,
    %(claimed_by)s
);

-- name: rescue_stalled_jobs :many
-- Return running jobs of workers silent for stalled_after_s to their queue.
SELECT job_id, queue_name, outcome FROM queue.rescue_stalled_jobs(%(stalled_after_s)s);

-- name: resolve_missed_endings :one
-- Count the job endings dependants and batches missed; returns how many.
SELECT queue.resolve_missed_endings();

-- name: succeeded_outcomes_for_keys :many
-- For each of these idempotency keys that has a succeeded attempt, the first
-- one (a claim asks once for its whole batch). Index job_outcomes_succeeded_key_idx.
SELECT DISTINCT ON (o.idempotency_key) o.idempotency_key, o.job_id, o.result
FROM queue.job_outcomes AS o
WHERE o.idempotency_key = ANY (%(keys)s::text[]) AND o.status = 'succeeded'
ORDER BY o.idempotency_key, o.finished_at;

-- name: register_worker_queue :exec
-- Record the queue a worker serves (its first claim does this).
INSERT INTO queue.worker_queues (worker_id, queue_name)
VALUES (%(worker_id)s, %(queue_name)s)
ON CONFLICT ON CONSTRAINT worker_queues_pkey DO NOTHING;

-- name: heartbeat_workers :many
-- Heartbeat the lanes of a process at once; returns the ids whose rows still exist.
UPDATE procrastinate_workers SET last_heartbeat = now()
WHERE id = ANY(%(worker_ids)s::bigint[])
RETURNING id;

-- name: prune_stalled_workers :exec
-- Delete the rows of workers silent for stalled_after_s while the database was up.
SELECT queue.prune_stalled_workers(%(stalled_after_s)s);

-- name: age_priorities :one
-- Raise the priority of jobs that waited past their queue's priority_aging_s; returns how many.
SELECT queue.age_priorities(%(max_jobs)s);
