-- name: list_queues :many
-- Every queue with its policy, in name order.
SELECT name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
       backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency, paused,
       extract(epoch FROM execution_timeout)::float8 AS execution_timeout_s
FROM queue.queues
ORDER BY name;

-- name: list_job_type_timeouts :many
-- The job types that set their own execution timeout.
SELECT name, extract(epoch FROM execution_timeout)::float8 AS execution_timeout_s
FROM queue.job_types
WHERE execution_timeout IS NOT NULL
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

-- name: list_queue_jobs :many
-- A page of a queue's jobs in one API state, oldest first.
SELECT id, queue, job_type, state, priority, attempts, max_attempts, enqueued_at,
       scheduled_at, started_at, finished_at, last_error_type, last_error,
       idempotency_key, user_id, venue_id, request_id, data,
       progress_percent, progress_message, progress_at, held, waiting_for, concurrency_key
FROM queue.jobs
WHERE queue = %(queue)s
  AND CASE %(status)s::text
        WHEN 'waiting' THEN state = 'todo' AND NOT held AND (scheduled_at IS NULL OR scheduled_at <= now())
        WHEN 'delayed' THEN state = 'todo' AND NOT held AND scheduled_at > now()
        WHEN 'waiting-children' THEN held
        WHEN 'active' THEN state = 'doing'
        WHEN 'completed' THEN state = 'succeeded'
        ELSE state = %(status)s::text
      END
ORDER BY id
OFFSET %(offset)s
LIMIT %(limit)s;

-- name: clear_queue :one
-- Remove a queue's jobs in one state; returns how many.
SELECT queue.clear_queue(%(queue)s, %(kind)s);

-- name: get_queue_config :one
-- A queue's editable policy.
SELECT name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
       backoff_jitter, extract(epoch FROM keep_succeeded)::float8 AS keep_succeeded_s,
       extract(epoch FROM keep_failed)::float8 AS keep_failed_s, keep_results, concurrency,
       alert_max_waiting, extract(epoch FROM alert_max_oldest_age)::float8 AS alert_max_oldest_age_s,
       alert_max_failed_per_hour, extract(epoch FROM idempotency_key_ttl)::float8 AS idempotency_key_ttl_s,
       extract(epoch FROM execution_timeout)::float8 AS execution_timeout_s, priority_aging_s,
       key_concurrency, paused, updated_at
FROM queue.queues
WHERE name = queue.canonical_queue_name(%(queue)s);

-- name: update_queue_config :one
-- Change some of a queue's policy (NULL keeps a value); returns the queue's name.
UPDATE queue.queues SET
    max_attempts = coalesce(%(max_attempts)s, max_attempts),
    backoff = coalesce(%(backoff)s, backoff),
    backoff_base_s = coalesce(%(backoff_base_s)s, backoff_base_s),
    backoff_factor = coalesce(%(backoff_factor)s, backoff_factor),
    backoff_cap_s = CASE WHEN %(clear_backoff_cap)s THEN NULL ELSE coalesce(%(backoff_cap_s)s, backoff_cap_s) END,
    backoff_jitter = coalesce(%(backoff_jitter)s, backoff_jitter),
    keep_succeeded = coalesce(make_interval(secs => %(keep_succeeded_s)s), keep_succeeded),
    keep_failed = coalesce(make_interval(secs => %(keep_failed_s)s), keep_failed),
    keep_results = coalesce(%(keep_results)s, keep_results),
    concurrency = coalesce(%(concurrency)s, concurrency),
    alert_max_waiting = coalesce(%(alert_max_waiting)s, alert_max_waiting),
    alert_max_oldest_age = coalesce(make_interval(secs => %(alert_max_oldest_age_s)s), alert_max_oldest_age),
    alert_max_failed_per_hour = coalesce(%(alert_max_failed_per_hour)s, alert_max_failed_per_hour),
    idempotency_key_ttl = coalesce(make_interval(secs => %(idempotency_key_ttl_s)s), idempotency_key_ttl),
    execution_timeout = coalesce(make_interval(secs => %(execution_timeout_s)s), execution_timeout),
    priority_aging_s = coalesce(%(priority_aging_s)s, priority_aging_s),
    -- 0 lifts the per-key limit (NULL in the table).
    key_concurrency = CASE WHEN %(key_concurrency)s::integer = 0 THEN NULL
                           ELSE coalesce(%(key_concurrency)s::integer, key_concurrency) END,
    updated_at = now()
WHERE name = queue.canonical_queue_name(%(queue)s)
RETURNING name;
