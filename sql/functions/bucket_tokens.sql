-- The tokens a bucket holds at `at`: what it held when last refilled, plus
-- its rate for the time since, never more than its burst. The one refill
-- formula: the gate, explain_job and the status view all read it from here.
-- The rate is queue.bucket_rate's, which recovers linearly after a 429: the
-- mean of its two ends is the exact integral of that line (and errs low where
-- it reaches the full rate in between).
-- Before a Retry-After hold ends, refilled_at lies in the future and the
-- result is below the stored tokens: the bucket refills from the end of the hold.
CREATE OR REPLACE FUNCTION queue.bucket_tokens(bucket queue.rate_limits, at timestamptz)
    RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN least(bucket.burst::double precision,
             bucket.tokens
             + (queue.bucket_rate(bucket, bucket.refilled_at) + queue.bucket_rate(bucket, at)) / 2
               * extract(epoch FROM at - bucket.refilled_at));
REVOKE ALL ON FUNCTION queue.bucket_tokens(queue.rate_limits, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.bucket_tokens(queue.rate_limits, timestamptz) TO queue_reader;
