-- 0002_pre_views_roles_hot_table: psql views, roles, health of procrastinate's tables.
--
-- Intent: operators answer "what is waiting, what failed, why" from views in
-- schema `queue`; other services get a role that may enqueue and nothing else;
-- the hot table gets the indexes and autovacuum settings a busy queue needs.
--
-- Lock impact: CREATE INDEX on procrastinate_jobs takes a SHARE lock, which blocks
-- inserts and updates of jobs while the index builds (seconds per million rows).
-- Operator step for a large existing table: build the indexes first, by hand,
-- with the same names and CREATE INDEX CONCURRENTLY; this file then skips them
-- (IF NOT EXISTS).

-- procrastinate indexes worker_id only for jobs in 'doing'. Deleting a worker row
-- (at worker shutdown, and when stalled workers are pruned at worker start) runs
-- the foreign key's ON DELETE SET NULL, which looks for *all* jobs of that worker,
-- finished ones included: without a full index that is a sequential scan of the
-- whole table, once per worker.
CREATE INDEX IF NOT EXISTS procrastinate_jobs_worker_id_idx
    ON procrastinate_jobs (worker_id);

-- Views count waiting and running jobs per queue. This partial index covers
-- exactly those rows, so the overview never reads finished jobs, however many
-- retention keeps.
CREATE INDEX IF NOT EXISTS procrastinate_jobs_queue_name_status_idx
    ON procrastinate_jobs (queue_name, status, scheduled_at)
    WHERE status IN ('todo', 'doing');

-- Dead letters are few; this index lets queue.failures skip succeeded jobs.
CREATE INDEX IF NOT EXISTS procrastinate_jobs_failed_idx
    ON procrastinate_jobs (queue_name, id)
    WHERE status = 'failed';

-- Every job is inserted once and updated two or three times (fetch, finish,
-- retry), each update leaving a dead tuple. The default thresholds (20% of the
-- table) let millions of dead tuples pile up on a large table before a vacuum;
-- 1% keeps fetches on a compact index. The events table only grows, so insert
-- vacuum keeps its visibility map fresh for index-only scans.
ALTER TABLE procrastinate_jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_limit = 2000
);
ALTER TABLE procrastinate_events SET (
    autovacuum_vacuum_scale_factor = 0.05,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05
);

-- When procrastinate recorded a job as deferred. A function, not a subquery in
-- the views: the planner prices a correlated subquery as if it ran for every
-- waiting job, which pushes the overview past jit_above_cost, and JIT then
-- spends ~200 ms compiling a query that runs in a few. It is only reached for
-- jobs deferred without queue.enqueue (coalesce stops at the first value).
-- SECURITY DEFINER so readers of the views need no right on procrastinate_events.
CREATE FUNCTION queue.job_deferred_at(job_id bigint)
    RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER COST 5
    SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT min(e.at) FROM procrastinate_events AS e
    WHERE e.job_id = job_deferred_at.job_id AND e.type = 'deferred'
);
REVOKE ALL ON FUNCTION queue.job_deferred_at(bigint) FROM PUBLIC;

-- When a job last entered one of the given event types (started, failed, ...).
-- A function for the same reason as job_deferred_at.
CREATE FUNCTION queue.job_last_event_at(job_id bigint, types procrastinate_job_event_type[])
    RETURNS timestamptz
    LANGUAGE sql STABLE SECURITY DEFINER COST 5
    SET search_path = pg_catalog, public, pg_temp
RETURN (
    SELECT max(e.at) FROM procrastinate_events AS e
    WHERE e.job_id = job_last_event_at.job_id AND e.type = ANY (job_last_event_at.types)
);
REVOKE ALL ON FUNCTION queue.job_last_event_at(bigint, procrastinate_job_event_type[]) FROM PUBLIC;

-- Per queue: what waits, what runs, what finished in the last hour.
CREATE VIEW queue.overview AS
SELECT
    q.name AS queue,
    q.tier,
    q.paused,
    coalesce(live.waiting, 0) AS waiting,
    coalesce(live.scheduled, 0) AS scheduled,
    coalesce(live.running, 0) AS running,
    coalesce(recent.failed_last_hour, 0) AS failed_last_hour,
    coalesce(recent.succeeded_last_hour, 0) AS succeeded_last_hour,
    now() - live.oldest_waiting_since AS oldest_waiting_age,
    q.concurrency,
    q.max_attempts
FROM queue.queues AS q
LEFT JOIN LATERAL (
    SELECT
        count(*) FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting,
        count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()) AS scheduled,
        count(*) FILTER (WHERE j.status = 'doing') AS running,
        -- A waiting job waits since its run time if it was scheduled or retried,
        -- else since it was enqueued (meta for jobs from queue.enqueue,
        -- procrastinate's 'deferred' event for jobs deferred directly).
        min(coalesce(
            j.scheduled_at,
            (j.args -> 'meta' ->> 'enqueued_at')::timestamptz,
            queue.job_deferred_at(j.id)
        )) FILTER (
            WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
        ) AS oldest_waiting_since
    FROM procrastinate_jobs AS j
    WHERE j.queue_name = q.name AND j.status IN ('todo', 'doing')
) AS live ON true
LEFT JOIN LATERAL (
    SELECT
        count(*) FILTER (WHERE o.status = 'failed') AS failed_last_hour,
        count(*) FILTER (WHERE o.status = 'succeeded') AS succeeded_last_hour
    FROM queue.job_outcomes AS o
    WHERE o.finished_at > now() - interval '1 hour' AND o.queue_name = q.name
) AS recent ON true;
COMMENT ON VIEW queue.overview IS
    'Per queue: waiting (due), scheduled (later), running, failed/succeeded in the last hour, age of the oldest waiting job, paused.';

-- One row per job, with what an operator asks first.
CREATE VIEW queue.jobs AS
SELECT
    j.id,
    j.queue_name AS queue,
    j.task_name AS job_type,
    j.status::text AS state,
    j.priority,
    j.attempts,
    coalesce(CASE WHEN j.args -> 'meta' ->> 'max_attempts' ~ '^[0-9]{1,3}$'
                  THEN (j.args -> 'meta' ->> 'max_attempts')::integer END,
             q.max_attempts) AS max_attempts,
    (j.args -> 'meta' ->> 'enqueued_at')::timestamptz AS enqueued_at,
    j.scheduled_at,
    queue.job_last_event_at(j.id, '{started}') AS started_at,
    CASE WHEN j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
        THEN queue.job_last_event_at(j.id, '{succeeded,failed,cancelled,aborted}')
    END AS finished_at,
    last_outcome.error_type AS last_error_type,
    last_outcome.error_message AS last_error,
    j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
    j.args -> 'meta' ->> 'user_id' AS user_id,
    j.args -> 'meta' ->> 'venue_id' AS venue_id,
    j.args -> 'meta' ->> 'request_id' AS request_id,
    j.worker_id,
    j.lock,
    j.abort_requested,
    j.args -> 'data' AS data,
    j.args -> 'meta' AS meta
FROM procrastinate_jobs AS j
LEFT JOIN queue.queues AS q ON q.name = j.queue_name
LEFT JOIN LATERAL (
    SELECT o.error_type, o.error_message FROM queue.job_outcomes AS o
    WHERE o.job_id = j.id AND o.error_message IS NOT NULL
    ORDER BY o.attempt DESC, o.id DESC
    LIMIT 1
) AS last_outcome ON true;
COMMENT ON VIEW queue.jobs IS
    'One row per job: type, state, attempts, times, last error, idempotency key. Filter by id or queue.';

-- Dead letters: jobs that spent their attempts (or failed permanently).
CREATE VIEW queue.failures AS
SELECT
    j.id,
    j.queue_name AS queue,
    j.task_name AS job_type,
    j.attempts,
    q.max_attempts,
    queue.job_last_event_at(j.id, '{failed}') AS failed_at,
    last_outcome.error_type AS last_error_type,
    last_outcome.error_message AS last_error,
    j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
    j.args -> 'data' AS data
FROM procrastinate_jobs AS j
LEFT JOIN queue.queues AS q ON q.name = j.queue_name
LEFT JOIN LATERAL (
    SELECT o.error_type, o.error_message FROM queue.job_outcomes AS o
    WHERE o.job_id = j.id AND o.error_message IS NOT NULL
    ORDER BY o.attempt DESC, o.id DESC
    LIMIT 1
) AS last_outcome ON true
WHERE j.status = 'failed';
COMMENT ON VIEW queue.failures IS
    'Failed (dead-lettered) jobs with their last error; retry them by id or in bulk.';

-- Roles. queue_producer may only enqueue; queue_reader may only read the views.
-- Both are NOLOGIN groups: grant them to a service's own login role. Roles are
-- cluster-wide, so another database on the same server may have made them.
DO $$
BEGIN
    CREATE ROLE queue_producer NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END;
$$;
DO $$
BEGIN
    CREATE ROLE queue_reader NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
    NULL;
END;
$$;

GRANT USAGE ON SCHEMA queue TO queue_producer, queue_reader;
GRANT EXECUTE ON FUNCTION queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb) TO queue_producer;
GRANT EXECUTE ON FUNCTION queue.enqueue_many(jsonb) TO queue_producer;
GRANT SELECT ON queue.overview, queue.jobs, queue.failures TO queue_reader;
GRANT EXECUTE ON FUNCTION queue.job_deferred_at(bigint) TO queue_reader;
GRANT EXECUTE ON FUNCTION queue.job_last_event_at(bigint, procrastinate_job_event_type[]) TO queue_reader;

-- Three-row tables never reach autovacuum's analyze threshold; without
-- statistics the planner assumes hundreds of queues in every view.
ANALYZE queue.queues, queue.job_types;
