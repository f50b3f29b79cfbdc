-- name: get_job_id_range :one
-- The lowest and highest job id (two end probes of procrastinate_jobs_pkey): where the browser's windows start and stop.
SELECT (SELECT min(id) FROM procrastinate_jobs) AS lowest,
       (SELECT max(id) FROM procrastinate_jobs) AS highest;

-- name: plan_for_values :exec
-- Plan the rest of this transaction's statements for their parameters' values: the browser's optional filters need custom plans.
-- A prepared statement (psycopg prepares one run five times) may otherwise
-- switch to a generic plan, which tests every `param IS NULL OR ...` on
-- every row and cannot prove a partial index's state.
SELECT set_config('plan_cache_mode', 'force_custom_plan', true);

-- name: browse_jobs_window :many
-- The console's job browser: jobs with ids in [floor, top) that match the filters given (NULL: any), newest first, at most `limit`.
-- The id range bounds the scan whatever the filters. The index that reads it
-- in id order: procrastinate_jobs_pkey backwards, stopping at the limit's
-- last match; for failed jobs of one queue procrastinate_jobs_failed_idx
-- (queue_name, id); for todo and doing procrastinate_jobs_id_lock_idx_v1
-- (id, lock), partial on those two states. Only the page's rows then read
-- their queue's attempts and their last error (queue.last_error, by
-- job_outcomes_job_id_idx). Each optional filter is `param IS NULL OR ...`;
-- planned for the values given (plan_for_values), the planner sees only the
-- filters set and can prove a partial index's state. A scoped caller's key
-- is stored as '@<scope>:<key>', so a key matches as stored or without its
-- scope.
SELECT p.id, p.queue_name AS queue, p.task_name AS job_type, p.status::text AS state,
       p.attempts,
       coalesce(CASE WHEN p.meta ->> 'max_attempts' ~ '^[0-9]{1,3}$'
                     THEN (p.meta ->> 'max_attempts')::integer END,
                q.max_attempts) AS max_attempts,
       (p.meta ->> 'enqueued_at')::timestamptz AS enqueued_at,
       e.error_type AS last_error_type
FROM (
    SELECT j.id, j.queue_name, j.task_name, j.status, j.attempts, j.args -> 'meta' AS meta
    FROM procrastinate_jobs AS j
    WHERE j.id < %(top)s AND j.id >= %(floor)s
      AND (%(queue)s::text IS NULL OR j.queue_name = %(queue)s::text)
      AND (%(job_type)s::text IS NULL OR j.task_name = %(job_type)s::text)
      AND (%(state)s::procrastinate_job_status IS NULL OR j.status = %(state)s::procrastinate_job_status)
      AND (%(venue)s::text IS NULL OR j.args -> 'meta' ->> 'venue_id' = %(venue)s::text)
      -- One cast for both bounds (a NULL bound is open); the costliest test, so
      -- the planner runs it after the others.
      AND ((%(since)s::timestamptz IS NULL AND %(until)s::timestamptz IS NULL)
           OR tstzrange(%(since)s::timestamptz, %(until)s::timestamptz)
              @> (j.args -> 'meta' ->> 'enqueued_at')::timestamptz)
      -- The cheap suffix test first; only its few matches are checked in full.
      AND (%(key)s::text IS NULL
           OR (right(j.args -> 'meta' ->> 'idempotency_key', length(%(key)s::text)) = %(key)s::text
               AND (j.args -> 'meta' ->> 'idempotency_key' = %(key)s::text
                    OR (starts_with(j.args -> 'meta' ->> 'idempotency_key', '@')
                        AND substr(j.args -> 'meta' ->> 'idempotency_key',
                                   strpos(j.args -> 'meta' ->> 'idempotency_key', ':') + 1)
                            = %(key)s::text))))
    ORDER BY j.id DESC
    LIMIT %(limit)s
) AS p
LEFT JOIN queue.queues AS q ON q.name = p.queue_name
LEFT JOIN LATERAL queue.last_error(p.id) AS e ON true
ORDER BY p.id DESC;

-- name: split_jobs_enqueued_at :one
-- Where the jobs of ids [low, high) enqueued before a time end and those enqueued at or after it begin: the last job id below the split and the first at or above it.
-- The split is bisected on procrastinate_jobs_pkey, about log2(high - low)
-- probes, each the first job from the middle id that has an enqueue time;
-- then the jobs on either side of it are found by two end probes. Ids follow
-- insert order and a job's enqueued_at is its enqueue transaction's start,
-- so the split is exact for every job whose transaction had been open less
-- than the slack the caller adds to or takes from the time.
WITH RECURSIVE bisect(low, high) AS (
    SELECT %(low)s::bigint, %(high)s::bigint
    UNION ALL
    SELECT CASE WHEN probe.enqueued_at < %(at)s::timestamptz THEN probe.id + 1 ELSE b.low END,
           -- No probe (no job with a time in [middle, high)) or one at or
           -- after the time: the split is at or below the middle.
           CASE WHEN probe.enqueued_at < %(at)s::timestamptz THEN b.high ELSE (b.low + b.high) / 2 END
    FROM bisect AS b
    LEFT JOIN LATERAL (
        SELECT j.id, (j.args -> 'meta' ->> 'enqueued_at')::timestamptz AS enqueued_at
        FROM procrastinate_jobs AS j
        WHERE j.id >= (b.low + b.high) / 2 AND j.id < b.high
          AND j.args -> 'meta' ->> 'enqueued_at' IS NOT NULL
        ORDER BY j.id
        LIMIT 1
    ) AS probe ON true
    WHERE b.low < b.high
),
split AS (SELECT max(low) AS id FROM bisect)
-- ORDER BY ... LIMIT 1, not min/max over a join: one probe each, not a range.
SELECT (SELECT j.id FROM procrastinate_jobs AS j
        WHERE j.id < (SELECT id FROM split) AND j.id >= %(low)s
        ORDER BY j.id DESC LIMIT 1) AS last_below,
       (SELECT j.id FROM procrastinate_jobs AS j
        WHERE j.id >= (SELECT id FROM split) AND j.id < %(high)s
        ORDER BY j.id LIMIT 1) AS first_at_or_above;

-- name: find_job_by_key :one
-- The job an idempotency key names, as stored (scope included): one probe of idempotency_keys_pkey, over the whole history.
SELECT k.job_id FROM queue.idempotency_keys AS k WHERE k.key = %(key)s;

-- name: list_job_filter_choices :many
-- The names the job browser's queue and type fields offer: every queue and every job type.
SELECT 'queue' AS field, name FROM queue.queues
UNION ALL
SELECT 'job_type', name FROM queue.job_types
ORDER BY 1, 2;
