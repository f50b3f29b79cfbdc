-- name: begin_provider_call :one
-- Start a provider call (ledger, breaker, buckets), or say why it may not go yet.
SELECT verdict, wait_s, lease_ids, response, breaker_state, tokens_left, breaker
FROM queue.begin_provider_call(
    %(bucket)s, %(provider)s, %(job_id)s, %(ledger_key)s, %(step)s, %(fingerprint)s, %(lease_s)s,
    %(subject)s
);

-- name: end_provider_call :one
-- Finish a provider call: free its leases, record the answer, move the breaker.
SELECT queue.end_provider_call(
    %(lease_ids)s, %(bucket)s, %(provider)s, %(ledger_key)s, %(outcome)s, %(response)s,
    %(error)s, %(retry_after_s)s
);

-- name: list_side_effects :many
-- The provider calls a job made, oldest first.
SELECT key, job_id, provider, step, fingerprint, status, calls, response, error,
       started_at, finished_at
FROM queue.side_effects
WHERE job_id = %(job_id)s
ORDER BY started_at, key;

-- name: list_breakers :many
-- Every provider's circuit breaker.
SELECT provider, state, failures, failure_threshold, open_s, retry_at, last_error
FROM queue.circuit_breakers
ORDER BY provider;

-- name: configure_rate_limit :one
-- Apply a deployment's override of a bucket's limits (unset fields keep their value).
UPDATE queue.rate_limits
SET rate_per_s = coalesce(%(rate_per_s)s, rate_per_s),
    burst = coalesce(%(burst)s, burst),
    max_concurrent = coalesce(%(max_concurrent)s, max_concurrent),
    cooldown_s = coalesce(%(cooldown_s)s, cooldown_s),
    tokens = least(tokens, coalesce(%(burst)s, burst)),
    updated_at = now()
WHERE name = %(name)s
RETURNING name;

-- name: configure_breakers :many
-- Apply a deployment's breaker thresholds (unset ones keep their value) to every provider.
UPDATE queue.circuit_breakers
SET failure_threshold = coalesce(%(failure_threshold)s, failure_threshold),
    open_s = coalesce(%(open_s)s, open_s),
    updated_at = now()
WHERE failure_threshold <> coalesce(%(failure_threshold)s, failure_threshold)
   OR open_s <> coalesce(%(open_s)s, open_s)
RETURNING provider;

-- name: forget_side_effects :one
-- Delete one batch of ledger rows older than the longest key lifetime (90 days).
SELECT queue.forget_side_effects(batch_size => %(batch_size)s);

-- name: release_provider_leases :exec
-- Free the concurrency slots of a call nobody knows the end of (interrupted).
DELETE FROM queue.rate_limit_leases
WHERE id = ANY(%(lease_ids)s::bigint[]);
