-- name: lease_api_quota :one
-- Lease up to `chunk` requests of a caller's current window (0 granted: over the limit).
SELECT granted, hits, reset_in_s
FROM queue.lease_api_quota(%(key)s, %(window_s)s, %(max_hits)s, %(chunk)s);

-- name: api_forget_old_windows :one
-- Forget counters whose window ended more than a day ago; returns how many.
WITH gone AS (
    DELETE FROM queue.api_rate_limit_windows WHERE window_start < now() - interval '1 day' RETURNING 1
)
SELECT count(*) FROM gone;
