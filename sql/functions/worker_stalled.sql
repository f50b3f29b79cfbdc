-- Whether a worker whose last heartbeat is `last_heartbeat` has stalled. The
-- silence must last `stalled_after_s` while the database was up: after a
-- restart of PostgreSQL no worker could heartbeat, so every worker gets a
-- whole window from the restart to reconnect before its jobs are taken from
-- it. Without this, the first rescue after a long outage would re-run the
-- jobs of live workers that were only waiting for the database.
CREATE OR REPLACE FUNCTION queue.worker_stalled(last_heartbeat timestamptz, stalled_after_s double precision)
    RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN greatest(last_heartbeat, pg_postmaster_start_time())
        < now() - make_interval(secs => stalled_after_s);
