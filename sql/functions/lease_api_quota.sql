-- Lease up to `chunk` requests of `key`'s current window of `window_s` seconds,
-- without passing `max_hits`. Returns how many were granted (0: the caller is
-- over the limit), the window's hits after the lease, and the seconds until the
-- window ends.
CREATE OR REPLACE FUNCTION queue.lease_api_quota(key text, window_s integer, max_hits integer, chunk integer)
    RETURNS TABLE (granted integer, hits integer, reset_in_s integer)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    current_window timestamptz := to_timestamp(floor(extract(epoch FROM now()) / window_s) * window_s);
    before integer;
BEGIN
    INSERT INTO queue.api_rate_limit_windows AS w (key, window_start, hits)
    VALUES (lease_api_quota.key, current_window, 0)
    ON CONFLICT ON CONSTRAINT api_rate_limit_windows_pkey DO UPDATE
        SET hits = CASE WHEN w.window_start = excluded.window_start THEN w.hits ELSE 0 END,
            window_start = excluded.window_start
    RETURNING w.hits INTO before;
    granted := greatest(0, least(chunk, max_hits - before));
    hits := before + granted;
    IF granted > 0 THEN
        UPDATE queue.api_rate_limit_windows AS w SET hits = lease_api_quota.hits
        WHERE w.key = lease_api_quota.key;
    END IF;
    reset_in_s := greatest(1, ceil(extract(epoch FROM current_window - now()) + window_s))::integer;
    RETURN NEXT;
END;
$$;
REVOKE ALL ON FUNCTION queue.lease_api_quota(text, integer, integer, integer) FROM PUBLIC;
