-- name: api_store_get :one
-- A live value of the API rate limiter's store.
SELECT value FROM queue.api_rate_limit_store
WHERE key = %(key)s AND (expires_at IS NULL OR expires_at > now());

-- name: api_store_set :exec
-- Write a value of the API rate limiter's store.
INSERT INTO queue.api_rate_limit_store (key, value, expires_at)
VALUES (%(key)s, %(value)s, now() + make_interval(secs => %(expires_in_s)s))
ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at;

-- name: api_store_delete :exec
-- Forget a value of the API rate limiter's store.
DELETE FROM queue.api_rate_limit_store WHERE key = %(key)s;

-- name: api_store_delete_expired :one
-- Forget the expired values; returns how many.
WITH gone AS (DELETE FROM queue.api_rate_limit_store WHERE expires_at <= now() RETURNING 1)
SELECT count(*) FROM gone;

-- name: api_store_delete_all :exec
-- Forget every value of the API rate limiter's store.
DELETE FROM queue.api_rate_limit_store;

-- name: api_store_expires_in :one
-- Seconds until `key` expires (NULL: never, or absent).
SELECT ceil(extract(epoch FROM expires_at - now()))::integer FROM queue.api_rate_limit_store
WHERE key = %(key)s AND (expires_at IS NULL OR expires_at > now());
