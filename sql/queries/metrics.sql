-- name: outcome_totals :many
-- Attempts per queue and outcome since a time.
SELECT queue_name AS queue, status, count(*) AS attempts
FROM queue.job_outcomes
WHERE finished_at >= %(since)s
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
SELECT queue_name AS queue, job_type, count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'retried') AS retried
FROM queue.job_outcomes
WHERE finished_at >= %(since)s AND status IN ('failed', 'retried')
GROUP BY 1, 2
ORDER BY 3 DESC, 4 DESC, 1, 2
LIMIT 50;

-- name: top_errors :many
-- The most frequent error types and messages of failed attempts since a time.
SELECT error_type, left(error_message, 300) AS message, count(*) AS occurrences
FROM queue.job_outcomes
WHERE finished_at >= %(since)s AND status IN ('failed', 'retried')
GROUP BY 1, 2
ORDER BY 3 DESC, 1
LIMIT 10;

-- name: failures_per_hour :many
-- Failed attempts per hour since a time, for the trend.
SELECT date_trunc('hour', finished_at) AS hour, count(*) AS failed
FROM queue.job_outcomes
WHERE finished_at >= %(since)s AND status = 'failed'
GROUP BY 1
ORDER BY 1;
