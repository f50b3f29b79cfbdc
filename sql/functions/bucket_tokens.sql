-- The tokens a bucket holds at `at`: what it held when last refilled, plus
-- its rate for the time since, never more than its burst. The one refill
-- formula: the gate, explain_job and the status view all read it from here.
-- Before a Retry-After hold ends, refilled_at lies in the future and the
-- result is below the stored tokens: the bucket refills from the end of the hold.
CREATE OR REPLACE FUNCTION queue.bucket_tokens(bucket queue.rate_limits, at timestamptz)
    RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN least(bucket.burst::double precision,
             bucket.tokens + bucket.rate_per_s * extract(epoch FROM at - bucket.refilled_at));
REVOKE ALL ON FUNCTION queue.bucket_tokens(queue.rate_limits, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.bucket_tokens(queue.rate_limits, timestamptz) TO queue_reader;
