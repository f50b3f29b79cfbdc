-- Delete the rows of stalled workers (queue.worker_stalled); their running
-- jobs lose their worker (ON DELETE SET NULL) and the rescue returns them.
-- Replaces procrastinate's prune, which would count an outage of the
-- database as the silence of every worker. Returns how many were deleted.
CREATE OR REPLACE FUNCTION queue.prune_stalled_workers(stalled_after_s double precision)
    RETURNS bigint
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH pruned AS (
        DELETE FROM procrastinate_workers AS w
        WHERE queue.worker_stalled(w.last_heartbeat, stalled_after_s)
        RETURNING 1
    )
    SELECT count(*) FROM pruned;
END;
REVOKE ALL ON FUNCTION queue.prune_stalled_workers(double precision) FROM PUBLIC;
