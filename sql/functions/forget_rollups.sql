-- Rollups are kept 30 days, like the snapshots.
CREATE OR REPLACE FUNCTION queue.forget_rollups(older_than interval DEFAULT '30 days')
    RETURNS bigint
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH cut AS (SELECT date_trunc('hour', now() - older_than) AS hour),
    o AS (DELETE FROM queue.outcome_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1),
    e AS (DELETE FROM queue.error_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1),
    m AS (DELETE FROM queue.queue_metric_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1),
    r AS (DELETE FROM queue.rolled_up_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1)
    SELECT (SELECT count(*) FROM o) + (SELECT count(*) FROM e) + (SELECT count(*) FROM m)
         + (SELECT count(*) FROM r);
END;
REVOKE ALL ON FUNCTION queue.forget_rollups(interval) FROM PUBLIC;
