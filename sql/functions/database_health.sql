-- The database's health as the queue sees it: dead tuples and last vacuum of
-- the hot table, the oldest open transaction of this database (it holds back
-- vacuum) and running jobs whose worker stopped heartbeating.
CREATE OR REPLACE FUNCTION queue.database_health(stalled_after_s double precision)
    RETURNS TABLE (
        dead_tuples bigint,
        live_tuples bigint,
        last_vacuum_age_s double precision,
        oldest_transaction_age_s double precision,
        stalled_jobs bigint
    )
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce(s.n_dead_tup, 0),
           coalesce(s.n_live_tup, 0),
           extract(epoch FROM now() - greatest(s.last_autovacuum, s.last_vacuum)),
           (SELECT extract(epoch FROM max(now() - a.xact_start))
            FROM pg_stat_activity AS a
            WHERE a.datname = current_database()
              AND a.xact_start IS NOT NULL
              AND a.pid <> pg_backend_pid()
              AND a.backend_type = 'client backend'),
           (SELECT count(*) FROM procrastinate_jobs AS j
            LEFT JOIN procrastinate_workers AS w ON w.id = j.worker_id
            WHERE j.status = 'doing'
              AND (w.id IS NULL
                   OR w.last_heartbeat < now() - make_interval(secs => stalled_after_s)))
    FROM (SELECT 'procrastinate_jobs'::regclass AS relid) AS hot
    LEFT JOIN pg_stat_user_tables AS s ON s.relid = hot.relid;
END;
REVOKE ALL ON FUNCTION queue.database_health(double precision) FROM PUBLIC;
