-- A bucket's rate at `at`: rate_per_s, slowed by the provider's last 429
-- (rate_factor at slowed_at) and recovering linearly to the full rate over
-- recover_s. The one adaptive rule: the refill formula and the gate's waits
-- read it from here.
CREATE OR REPLACE FUNCTION queue.bucket_rate(bucket queue.rate_limits, at timestamptz)
    RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN bucket.rate_per_s * CASE
    WHEN bucket.slowed_at IS NULL OR bucket.rate_factor >= 1 THEN 1
    ELSE least(1, bucket.rate_factor + (1 - bucket.rate_factor)
                  * greatest(0, extract(epoch FROM at - bucket.slowed_at)) / bucket.recover_s)
END;
REVOKE ALL ON FUNCTION queue.bucket_rate(queue.rate_limits, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.bucket_rate(queue.rate_limits, timestamptz) TO queue_reader;
