-- Ledger rows outlive their jobs long enough for any retry, rescue or manual
-- retry; money keys live 90 days, so the ledger keeps 90 days too.
CREATE OR REPLACE FUNCTION queue.forget_side_effects(older_than interval DEFAULT '90 days', batch_size integer DEFAULT 10000)
    RETURNS bigint
    LANGUAGE sql VOLATILE
AS $$
    WITH old AS (
        SELECT s.key FROM queue.side_effects AS s
        WHERE s.started_at < now() - older_than
        ORDER BY s.started_at
        LIMIT batch_size
    ), gone AS (
        DELETE FROM queue.side_effects AS s USING old WHERE s.key = old.key RETURNING 1
    )
    SELECT count(*) FROM gone;
$$;
REVOKE ALL ON FUNCTION queue.forget_side_effects(interval, integer) FROM PUBLIC;
