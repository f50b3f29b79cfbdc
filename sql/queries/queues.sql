-- name: list_queues :many
-- Every queue with its policy, in name order.
SELECT name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
       backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency, paused
FROM queue.queues
ORDER BY name;

-- name: set_queue_paused :many
-- Pause or resume a queue by name or alias; workers see it at their next fetch,
-- and a resume wakes them (trigger queues_wake_on_resume).
UPDATE queue.queues
SET paused = %(paused)s, updated_at = now()
WHERE name = queue.canonical_queue_name(%(queue)s)
RETURNING name;

-- name: queue_overview :many
-- The overview of every queue (waiting jobs and the last hour's outcomes).
SELECT queue, tier, paused, waiting, scheduled, running, failed_last_hour, succeeded_last_hour,
       extract(epoch FROM oldest_waiting_age)::float8 AS oldest_waiting_age_s, concurrency, max_attempts
FROM queue.overview
ORDER BY queue;
