-- 0002_pre_views_roles_hot_table: psql views, roles, health of procrastinate's tables.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
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

-- Three-row tables never reach autovacuum's analyze threshold; without
-- statistics the planner assumes hundreds of queues in every view.
ANALYZE queue.queues, queue.job_types;
