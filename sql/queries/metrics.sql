-- name: outcome_totals :many
-- Attempts per queue and outcome since a time (rolled-up hours, raw outcomes at the edges).
WITH w AS (SELECT first_hour, end_time FROM queue.rolled_window(%(since)s)),
attempts AS (
    SELECT h.queue_name, h.status, h.attempts
    FROM queue.outcome_hours AS h, w
    WHERE h.hour >= w.first_hour AND h.hour < w.end_time
    UNION ALL
    SELECT o.queue_name, o.status, 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= %(since)s AND o.finished_at < coalesce(w.first_hour, 'infinity')
    UNION ALL
    SELECT o.queue_name, o.status, 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= w.end_time
)
SELECT queue_name AS queue, status, sum(attempts)::bigint AS attempts
FROM attempts
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: throughput_per_minute :many
-- Succeeded and failed attempts per queue and minute since a time.
SELECT queue_name AS queue, date_trunc('minute', finished_at) AS minute,
       count(*) FILTER (WHERE status = 'succeeded') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM queue.job_outcomes
WHERE finished_at >= %(since)s
  AND (%(queue)s::text IS NULL OR queue_name = %(queue)s::text)
GROUP BY 1, 2
ORDER BY 2, 1;

-- name: failures_by_type :many
-- Attempts that failed (for good or to be retried) per queue and job type since a time.
WITH w AS (SELECT first_hour, end_time FROM queue.rolled_window(%(since)s)),
attempts AS (
    SELECT h.queue_name, h.job_type, h.status, h.attempts
    FROM queue.outcome_hours AS h, w
    WHERE h.hour >= w.first_hour AND h.hour < w.end_time AND h.status IN ('failed', 'retried')
    UNION ALL
    SELECT o.queue_name, o.job_type, o.status, 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= %(since)s AND o.finished_at < coalesce(w.first_hour, 'infinity')
      AND o.status IN ('failed', 'retried')
    UNION ALL
    SELECT o.queue_name, o.job_type, o.status, 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= w.end_time AND o.status IN ('failed', 'retried')
)
SELECT queue_name AS queue, job_type,
       coalesce(sum(attempts) FILTER (WHERE status = 'failed'), 0)::bigint AS failed,
       coalesce(sum(attempts) FILTER (WHERE status = 'retried'), 0)::bigint AS retried
FROM attempts
GROUP BY 1, 2
ORDER BY 3 DESC, 4 DESC, 1, 2
LIMIT 50;

-- name: top_errors :many
-- The most frequent error types and messages of failed attempts since a time.
WITH w AS (SELECT first_hour, end_time FROM queue.rolled_window(%(since)s)),
errors AS (
    SELECT h.error_type, h.message, h.occurrences
    FROM queue.error_hours AS h, w
    WHERE h.hour >= w.first_hour AND h.hour < w.end_time
    UNION ALL
    SELECT coalesce(o.error_type, ''), left(coalesce(o.error_message, ''), 300), 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= %(since)s AND o.finished_at < coalesce(w.first_hour, 'infinity')
      AND o.status IN ('failed', 'retried')
    UNION ALL
    SELECT coalesce(o.error_type, ''), left(coalesce(o.error_message, ''), 300), 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= w.end_time AND o.status IN ('failed', 'retried')
)
SELECT nullif(error_type, '') AS error_type, nullif(message, '') AS message,
       sum(occurrences)::bigint AS occurrences
FROM errors
GROUP BY error_type, message
ORDER BY 3 DESC, 1
LIMIT 10;

-- name: failures_per_hour :many
-- Failed attempts per hour since a time, for the trend.
WITH w AS (SELECT first_hour, end_time FROM queue.rolled_window(%(since)s)),
failed AS (
    SELECT h.hour, h.attempts
    FROM queue.outcome_hours AS h, w
    WHERE h.hour >= w.first_hour AND h.hour < w.end_time AND h.status = 'failed'
    UNION ALL
    SELECT date_trunc('hour', o.finished_at), 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= %(since)s AND o.finished_at < coalesce(w.first_hour, 'infinity')
      AND o.status = 'failed'
    UNION ALL
    SELECT date_trunc('hour', o.finished_at), 1
    FROM queue.job_outcomes AS o, w
    WHERE o.finished_at >= w.end_time AND o.status = 'failed'
)
SELECT hour, sum(attempts)::bigint AS failed
FROM failed
GROUP BY 1
ORDER BY 1;

-- name: queue_trend :many
-- Per queue and hour since a time, the peaks of the monitor's snapshots.
WITH w AS (SELECT first_hour, end_time FROM queue.rolled_window(%(since)s)),
peaks AS (
    SELECT h.queue_name, h.hour, h.waiting, h.running, h.oldest_waiting_age_s, h.failed_last_hour
    FROM queue.queue_metric_hours AS h, w
    WHERE h.hour >= w.first_hour AND h.hour < w.end_time
    UNION ALL
    SELECT m.queue_name, date_trunc('hour', m.captured_at), m.waiting, m.running,
           m.oldest_waiting_age_s, m.failed_last_hour
    FROM queue.queue_metrics AS m, w
    WHERE m.captured_at >= %(since)s AND m.captured_at < coalesce(w.first_hour, 'infinity')
    UNION ALL
    SELECT m.queue_name, date_trunc('hour', m.captured_at), m.waiting, m.running,
           m.oldest_waiting_age_s, m.failed_last_hour
    FROM queue.queue_metrics AS m, w
    WHERE m.captured_at >= w.end_time
)
SELECT queue_name AS queue, hour, max(waiting) AS waiting, max(running) AS running,
       max(oldest_waiting_age_s) AS oldest_waiting_age_s,
       max(failed_last_hour) AS failed_last_hour
FROM peaks
GROUP BY 1, 2
ORDER BY 2, 1;

-- name: queue_last_hour :many
-- Per queue, the averages and peak of the monitor's snapshots of the last hour (the old summary's query).
SELECT queue_name AS queue, avg(waiting)::float8 AS avg_waiting,
       max(waiting) AS max_waiting, avg(running)::float8 AS avg_active,
       avg(failed_last_hour)::float8 AS avg_failed
FROM queue.queue_metrics
WHERE captured_at > now() - interval '1 hour'
GROUP BY 1
ORDER BY 1;

-- name: roll_up_hours :one
-- Roll up the complete hours not rolled yet (at most max_hours); returns how many.
SELECT queue.roll_up_hours(%(max_hours)s);

-- name: forget_rollups :one
-- Delete rollups older than 30 days; returns the rows deleted.
SELECT queue.forget_rollups();
