-- name: list_queues :many
-- Every queue with its policy, in name order.
SELECT name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
       backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency, paused
FROM queue.queues
ORDER BY name;
