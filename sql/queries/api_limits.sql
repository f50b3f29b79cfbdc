-- name: api_hit :one
-- Count a request of a caller in the current window of window_s seconds;
-- returns the window's hits so far and the seconds until it ends.
INSERT INTO queue.api_rate_limit_windows AS w (key, window_start, hits)
VALUES (%(key)s, to_timestamp(floor(extract(epoch FROM now()) / %(window_s)s) * %(window_s)s), 1)
ON CONFLICT (key) DO UPDATE SET
    hits = CASE WHEN w.window_start = excluded.window_start THEN w.hits + 1 ELSE 1 END,
    window_start = excluded.window_start
RETURNING hits, greatest(1, ceil(extract(epoch FROM w.window_start - now()) + %(window_s)s))::integer AS reset_in_s;

-- name: api_forget_old_windows :one
-- Forget counters whose window ended more than a day ago; returns how many.
WITH gone AS (
    DELETE FROM queue.api_rate_limit_windows WHERE window_start < now() - interval '1 day' RETURNING 1
)
SELECT count(*) FROM gone;
