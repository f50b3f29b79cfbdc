-- name: begin_provider_calls :many
-- Start a batch of calls of one bucket and breaker in one statement and one
-- commit: queue.begin_provider_call runs for each in turn, each seeing the
-- tokens and leases the earlier ones took (a volatile function takes a new
-- snapshot per query), so the limits stay exact. Rows come in the calls' order.
SELECT b.verdict, b.wait_s, b.lease_ids, b.response, b.breaker_state, b.tokens_left, b.breaker
FROM unnest(%(buckets)s::text[], %(providers)s::text[], %(job_ids)s::bigint[],
            %(ledger_keys)s::text[], %(steps)s::text[], %(fingerprints)s::text[],
            %(subjects)s::text[]) WITH ORDINALITY
    AS c(bucket, provider, job_id, ledger_key, step, fingerprint, subject, n)
CROSS JOIN LATERAL queue.begin_provider_call(
    c.bucket, c.provider, c.job_id, c.ledger_key, c.step, c.fingerprint, %(lease_s)s, c.subject
) AS b
ORDER BY c.n;

-- name: end_provider_calls :many
-- Finish a batch of calls of one bucket and breaker in one statement and one
-- commit, queue.end_provider_call for each in turn; each call's leases come as
-- one JSON array. Returns each call's breaker state, in the calls' order.
SELECT queue.end_provider_call(
    ARRAY(SELECT jsonb_array_elements_text(c.leases)::bigint), c.bucket, c.provider,
    c.ledger_key, c.outcome, c.response, c.error, c.retry_after_s
) AS breaker_state
FROM unnest(%(leases)s::jsonb[], %(buckets)s::text[], %(providers)s::text[],
            %(ledger_keys)s::text[], %(outcomes)s::text[], %(responses)s::jsonb[],
            %(errors)s::text[], %(retry_after_s)s::double precision[]) WITH ORDINALITY
    AS c(leases, bucket, provider, ledger_key, outcome, response, error, retry_after_s, n)
ORDER BY c.n;

-- name: list_side_effects :many
-- The provider calls a job made, oldest first.
SELECT key, job_id, provider, step, fingerprint, status, calls, resends, response, error,
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
