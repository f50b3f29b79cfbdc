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

-- name: list_rate_limits :many
-- Every bucket as of now, with its adaptive rate (the factor a 429 left and since when) and how long its Retry-After hold lasts; a provider's buckets together.
-- queue.rate_limit_status counts each bucket's live leases on
-- rate_limit_leases_bucket_idx; the table has a row per bucket, a dozen or so.
SELECT s.name, s.group_name, s.rate_per_s, s.effective_rate_per_s, r.rate_factor,
       extract(epoch FROM now() - r.slowed_at)::float8 AS slowed_age_s, r.recover_s,
       s.burst, s.max_concurrent, s.cooldown_s, s.paused, s.tokens, s.hold_until,
       CASE WHEN s.hold_until > now()
            THEN extract(epoch FROM s.hold_until - now())::float8 END AS hold_left_s,
       s.active_leases, s.updated_at, s.breaker_state
FROM queue.rate_limit_status AS s
JOIN queue.rate_limits AS r ON r.name = s.name
ORDER BY coalesce(s.group_name, s.name), s.group_name IS NOT NULL, s.name;

-- name: list_breaker_status :many
-- Circuit breakers as of now, those not closed first, at most `limit` (one per provider and one per webhook host).
SELECT provider, state, failures, failure_threshold, open_s, opened_at,
       extract(epoch FROM now() - opened_at)::float8 AS opened_age_s,
       retry_at, retry_in_s::float8 AS retry_in_s, last_error, updated_at
FROM queue.breaker_status
ORDER BY state = 'closed', provider
LIMIT %(limit)s;
