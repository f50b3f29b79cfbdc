-- name: insert_analytics_events :exec
-- Record analytics events, once per job (a job that already recorded its event is skipped).
-- The completion writer runs it in the transaction that completes the jobs.
-- Binary parameters, as for finish_jobs: no regex quoting per array element.
INSERT INTO queue.analytics_events (job_id, event_type, user_id, venue_id, properties, occurred_at)
SELECT e.job_id, e.event_type, e.user_id, e.venue_id, e.properties, e.occurred_at
FROM unnest(%(job_ids)b::bigint[], %(event_types)b::text[], %(user_ids)b::uuid[],
            %(venue_ids)b::uuid[], %(properties)b::jsonb[], %(occurred_at)b::timestamptz[])
    AS e(job_id, event_type, user_id, venue_id, properties, occurred_at)
ON CONFLICT (job_id) DO NOTHING;

-- name: delete_orphan_outcomes :one
-- Delete outcomes older than the cutoff whose job no longer exists; returns the count.
WITH deleted AS (
    DELETE FROM queue.job_outcomes AS o
    WHERE o.finished_at < %(before)s
      AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = o.job_id)
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: delete_idle_idempotency_keys :one
-- Delete keys created before the cutoff whose job is no longer waiting or running.
WITH deleted AS (
    DELETE FROM queue.idempotency_keys AS k
    WHERE k.created_at < %(before)s
      AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j
                      WHERE j.id = k.job_id AND j.status IN ('todo', 'doing'))
    RETURNING 1
)
SELECT count(*) FROM deleted;

-- name: report_jobs :many
-- Jobs enqueued in a period, one row each (for generate-report "jobs").
SELECT id, queue, job_type, state, attempts, enqueued_at, finished_at, last_error
FROM queue.jobs
WHERE enqueued_at >= %(period_start)s AND enqueued_at < %(period_end)s
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
ORDER BY id
LIMIT %(max_rows)s;

-- name: report_failures :many
-- Jobs that failed in a period with their last error (for generate-report "failures").
SELECT id, queue, job_type, attempts, failed_at, last_error_type, last_error
FROM queue.failures
WHERE failed_at >= %(period_start)s AND failed_at < %(period_end)s
  AND (%(queue)s::text IS NULL OR queue = %(queue)s::text)
ORDER BY failed_at
LIMIT %(max_rows)s;

-- name: report_throughput :many
-- Attempts per queue, hour and outcome in a period (for generate-report "throughput").
SELECT queue_name AS queue, date_trunc('hour', finished_at) AS hour, status, count(*) AS attempts,
       round(avg(extract(epoch FROM finished_at - started_at))::numeric, 3)::float8 AS avg_duration_s
FROM queue.job_outcomes
WHERE finished_at >= %(period_start)s AND finished_at < %(period_end)s
  AND (%(queue)s::text IS NULL OR queue_name = %(queue)s::text)
GROUP BY 1, 2, 3
ORDER BY 2, 1, 3
LIMIT %(max_rows)s;
