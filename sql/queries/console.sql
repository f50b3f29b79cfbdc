-- name: depth_since :many
-- The monitor's snapshots of every queue since a time (every WORKER_MONITOR_EVERY_S), oldest first.
SELECT queue_name AS queue, captured_at AS at, waiting, running
FROM queue.queue_metrics
WHERE captured_at >= %(since)s
ORDER BY captured_at, queue_name;

-- name: throughput_per_hour :many
-- Succeeded and failed attempts per queue and hour since a time (rolled-up hours, raw outcomes at the edges).
WITH w AS (SELECT first_hour, end_time FROM queue.rolled_window(%(since)s)),
attempts AS (
    SELECT h.queue_name, h.hour, h.status, h.attempts
    FROM queue.outcome_hours AS h, w
    WHERE h.hour >= w.first_hour AND h.hour < w.end_time AND h.status IN ('succeeded', 'failed')
    UNION ALL
    SELECT o.queue_name, date_trunc('hour', o.finished_at), o.status, 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= %(since)s AND o.finished_at < coalesce(w.first_hour, 'infinity')
      AND o.status IN ('succeeded', 'failed')
    UNION ALL
    SELECT o.queue_name, date_trunc('hour', o.finished_at), o.status, 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= w.end_time AND o.status IN ('succeeded', 'failed')
)
SELECT queue_name AS queue, hour AS at,
       coalesce(sum(attempts) FILTER (WHERE status = 'succeeded'), 0)::bigint AS completed,
       coalesce(sum(attempts) FILTER (WHERE status = 'failed'), 0)::bigint AS failed
FROM attempts
GROUP BY 1, 2
ORDER BY 2, 1;
