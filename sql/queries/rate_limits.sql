-- name: get_rate_limit :one
-- A bucket as of now: tokens refilled to this instant, live leases.
SELECT name, group_name, rate_per_s, burst, max_concurrent, cooldown_s, paused, tokens,
       hold_until, active_leases, updated_at, breaker_state, breaker_retry_at,
       effective_rate_per_s
FROM queue.rate_limit_status
WHERE name = %(name)s;

-- name: check_rate_limit :many
-- What the provider gate would say now to a call through a bucket (queue.admission):
-- the provider's breaker, the bucket, its group's bucket, most decisive first.
SELECT a.subject, a.verdict, a.wait_s, a.breaker_state, a.in_flight, a.max_concurrent
FROM queue.rate_limits AS r
CROSS JOIN LATERAL queue.admission(r.name, coalesce(r.group_name, r.name), now()) AS a
WHERE r.name = %(name)s;

-- name: reset_rate_limit :one
-- Refill a bucket and lift its Retry-After hold; returns its name.
UPDATE queue.rate_limits
SET tokens = burst, refilled_at = now(), hold_until = NULL, updated_at = now()
WHERE name = %(name)s
RETURNING name;

-- name: set_rate_limits_paused :many
-- Emergency stop (paused) or resume of the named buckets, or of all when none are named.
UPDATE queue.rate_limits
SET paused = %(paused)s, updated_at = now()
WHERE %(names)s::text[] IS NULL OR name = ANY(%(names)s::text[])
RETURNING name;
