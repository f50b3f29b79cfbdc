-- Whether a provider call could go at `at`, and if not, why and for how
-- long: the one admission rule, asked by the gate (queue.begin_provider_call),
-- by queue.explain_job and by the API's rate-limit check.
--
-- One row per party that must admit the call, most decisive first: the
-- circuit breaker `breaker` (when given and known), then the bucket `bucket`,
-- then its group's bucket. verdict is 'go' or what holds the call back:
--   breaker_open  the breaker is open (or half-open with its probe out)
--                 until retry_at
--   stopped       the bucket is emergency-stopped (until a person resumes it)
--   held          a provider's Retry-After holds the bucket until hold_until
--   concurrency   max_concurrent calls hold unexpired leases
--   tokens        no token until the next refill
-- wait_s says how long until the call could go (0 when nothing holds it or
-- only a person can lift it; a short poll for concurrency) and until when
-- that is known. Read-only: the gate locks the rows before it asks, so the
-- answer still holds when it takes its tokens.
CREATE OR REPLACE FUNCTION queue.admission(bucket text, breaker text, at timestamptz)
    RETURNS TABLE (
        subject text,
        verdict text,
        wait_s double precision,
        until timestamptz,
        breaker_state text,
        failures integer,
        tokens double precision,
        in_flight bigint,
        max_concurrent integer
    )
    LANGUAGE sql STABLE
AS $$
SELECT a.subject, a.verdict, a.wait_s, a.until, a.breaker_state, a.failures, a.tokens,
       a.in_flight, a.max_concurrent
FROM (
    SELECT 0 AS rank, b.provider AS subject,
           CASE WHEN b.state <> 'closed' AND b.retry_at > admission.at THEN 'breaker_open' ELSE 'go' END AS verdict,
           CASE WHEN b.state <> 'closed' AND b.retry_at > admission.at
                THEN extract(epoch FROM b.retry_at - admission.at)::double precision ELSE 0 END AS wait_s,
           CASE WHEN b.state <> 'closed' AND b.retry_at > admission.at THEN b.retry_at END AS until,
           b.state AS breaker_state, b.failures, NULL::double precision AS tokens,
           NULL::bigint AS in_flight, NULL::integer AS max_concurrent
    FROM queue.circuit_breakers AS b
    WHERE b.provider = admission.breaker
    UNION ALL
    SELECT CASE WHEN r.name = admission.bucket THEN 1 ELSE 2 END, r.name, v.verdict,
           CASE v.verdict
               WHEN 'held' THEN extract(epoch FROM r.hold_until - admission.at)::double precision
               WHEN 'concurrency' THEN least(1.0, greatest(0.05,
                   extract(epoch FROM l.earliest_expiry - admission.at)::double precision))
               WHEN 'tokens' THEN (1 - t.tokens) / queue.bucket_rate(r, admission.at)
               ELSE 0
           END,
           CASE v.verdict
               WHEN 'held' THEN r.hold_until
               WHEN 'tokens' THEN admission.at + make_interval(secs => (1 - t.tokens) / queue.bucket_rate(r, admission.at))
           END,
           NULL, NULL, t.tokens, l.in_flight, r.max_concurrent
    FROM queue.rate_limits AS r
    CROSS JOIN LATERAL (
        SELECT count(*) AS in_flight, min(x.expires_at) AS earliest_expiry
        FROM queue.rate_limit_leases AS x
        WHERE x.bucket = r.name AND x.expires_at > admission.at
    ) AS l
    CROSS JOIN LATERAL (SELECT queue.bucket_tokens(r, admission.at) AS tokens) AS t
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN r.paused THEN 'stopped'
            WHEN r.hold_until > admission.at THEN 'held'
            WHEN r.max_concurrent IS NOT NULL AND l.in_flight >= r.max_concurrent THEN 'concurrency'
            WHEN t.tokens < 1 THEN 'tokens'
            ELSE 'go'
        END AS verdict
    ) AS v
    WHERE r.name = admission.bucket
       OR r.name = (SELECT g.group_name FROM queue.rate_limits AS g WHERE g.name = admission.bucket)
) AS a
ORDER BY a.rank
$$;
REVOKE ALL ON FUNCTION queue.admission(text, text, timestamptz) FROM PUBLIC;
