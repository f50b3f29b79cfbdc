-- name: ping :one
-- The database answers.
SELECT 1;

-- name: live_workers :one
-- Workers that heartbeated within the last fresh_s seconds.
SELECT count(*) FROM procrastinate_workers
WHERE last_heartbeat > now() - make_interval(secs => %(fresh_s)s);
