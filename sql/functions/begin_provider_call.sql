-- Start a provider call for a job, or say why it may not go yet.
--
-- In order: a succeeded ledger row for the key answers at once (verdict
-- 'recorded', nothing else is touched); the breaker must admit the call
-- ('breaker_open'); the bucket and its group's bucket must be running
-- ('stopped'), out of a Retry-After hold ('held'), under their concurrency
-- ('concurrency') and hold a token ('tokens'). Only when everything admits
-- the call does anything change: a token and a lease are taken from each
-- bucket, a half-open breaker records its probe, and the ledger row is
-- written as started. wait_s says how long until the call could go.
-- Rows are locked breaker first, then buckets in name order: callers never
-- deadlock.
CREATE OR REPLACE FUNCTION queue.begin_provider_call(
    bucket text,
    provider text,
    job_id bigint,
    ledger_key text,
    step text,
    fingerprint text,
    lease_s double precision
)
    RETURNS TABLE (
        verdict text,
        wait_s double precision,
        lease_ids bigint[],
        response jsonb,
        breaker_state text,
        tokens_left double precision
    )
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    at timestamptz := clock_timestamp();
    ledger record;
    breaker queue.circuit_breakers;
    probe boolean := false;
    limits queue.rate_limits[] := '{}';
    r queue.rate_limits;
    available double precision;
    in_flight bigint;
    earliest_expiry timestamptz;
    why text;
    wait double precision := 0;
    ids bigint[] := '{}';
    new_id bigint;
    left_in_bucket double precision;
BEGIN
    SELECT s.fingerprint, s.status, s.response INTO ledger
    FROM queue.side_effects AS s WHERE s.key = ledger_key;
    IF FOUND AND ledger.status = 'succeeded' THEN
        IF ledger.fingerprint <> begin_provider_call.fingerprint THEN
            RAISE EXCEPTION 'side effect "%" was recorded for a different request', ledger_key
                USING ERRCODE = 'QS014';
        END IF;
        RETURN QUERY SELECT 'recorded'::text, 0::double precision, '{}'::bigint[],
                            ledger.response, NULL::text, NULL::double precision;
        RETURN;
    END IF;

    SELECT * INTO breaker FROM queue.circuit_breakers AS b
    WHERE b.provider = begin_provider_call.provider FOR UPDATE;
    IF NOT FOUND AND provider LIKE '%:%' THEN
        -- A member of a provider family (webhook:<host>) gets its own breaker
        -- on first use, with the family's thresholds.
        INSERT INTO queue.circuit_breakers AS b (provider, failure_threshold, open_s)
        SELECT begin_provider_call.provider, f.failure_threshold, f.open_s
        FROM queue.circuit_breakers AS f
        WHERE f.provider = split_part(begin_provider_call.provider, ':', 1)
        ON CONFLICT ON CONSTRAINT circuit_breakers_pkey DO NOTHING;
        SELECT * INTO breaker FROM queue.circuit_breakers AS b
        WHERE b.provider = begin_provider_call.provider FOR UPDATE;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown provider "%": no row in queue.circuit_breakers', provider
            USING ERRCODE = 'QS015';
    END IF;
    IF breaker.state <> 'closed' THEN
        IF breaker.retry_at > at THEN
            RETURN QUERY SELECT 'breaker_open'::text,
                extract(epoch FROM breaker.retry_at - at)::double precision,
                '{}'::bigint[], NULL::jsonb, breaker.state, NULL::double precision;
            RETURN;
        END IF;
        probe := true;  -- open long enough, or the last probe never reported
    END IF;

    FOR r IN
        SELECT * FROM queue.rate_limits AS x
        WHERE x.name = bucket
           OR x.name = (SELECT y.group_name FROM queue.rate_limits AS y WHERE y.name = bucket)
        ORDER BY x.name
        FOR UPDATE
    LOOP
        limits := limits || r;
        available := least(r.burst::double precision,
                           r.tokens + r.rate_per_s * extract(epoch FROM at - r.refilled_at));
        DELETE FROM queue.rate_limit_leases AS l WHERE l.bucket = r.name AND l.expires_at <= at;
        SELECT count(*), min(l.expires_at) INTO in_flight, earliest_expiry
        FROM queue.rate_limit_leases AS l WHERE l.bucket = r.name;
        IF r.paused THEN
            why := coalesce(why, 'stopped');
        ELSIF r.hold_until > at THEN
            why := coalesce(why, 'held');
            wait := greatest(wait, extract(epoch FROM r.hold_until - at));
        ELSIF r.max_concurrent IS NOT NULL AND in_flight >= r.max_concurrent THEN
            why := coalesce(why, 'concurrency');
            wait := greatest(wait, least(1.0, greatest(0.05,
                extract(epoch FROM earliest_expiry - at))));
        ELSIF available < 1 THEN
            why := coalesce(why, 'tokens');
            wait := greatest(wait, (1 - available) / r.rate_per_s);
        END IF;
    END LOOP;
    IF cardinality(limits) = 0 THEN
        RAISE EXCEPTION 'unknown rate limit "%"', bucket USING ERRCODE = 'QS015';
    END IF;
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT why, wait, '{}'::bigint[], NULL::jsonb, breaker.state,
                            NULL::double precision;
        RETURN;
    END IF;

    FOREACH r IN ARRAY limits LOOP
        available := least(r.burst::double precision,
                           r.tokens + r.rate_per_s * extract(epoch FROM at - r.refilled_at));
        UPDATE queue.rate_limits AS x
        SET tokens = available - 1, refilled_at = at
        WHERE x.name = r.name;
        INSERT INTO queue.rate_limit_leases (bucket, job_id, expires_at)
        VALUES (r.name, begin_provider_call.job_id, at + make_interval(secs => lease_s))
        RETURNING id INTO new_id;
        ids := ids || new_id;
        IF r.name = bucket THEN
            left_in_bucket := available - 1;
        END IF;
    END LOOP;

    IF probe THEN
        UPDATE queue.circuit_breakers AS b
        SET state = 'half_open', retry_at = at + make_interval(secs => b.open_s), updated_at = at
        WHERE b.provider = begin_provider_call.provider;
        breaker.state := 'half_open';
    END IF;

    INSERT INTO queue.side_effects AS s (key, job_id, provider, step, fingerprint, status)
    VALUES (ledger_key, begin_provider_call.job_id, begin_provider_call.provider,
            begin_provider_call.step, begin_provider_call.fingerprint, 'started')
    ON CONFLICT ON CONSTRAINT side_effects_pkey DO UPDATE
    SET status = 'started', calls = s.calls + 1, job_id = excluded.job_id,
        fingerprint = excluded.fingerprint, error = NULL, started_at = at, finished_at = NULL;

    RETURN QUERY SELECT 'go'::text, 0::double precision, ids, NULL::jsonb, breaker.state,
                        left_in_bucket;
END;
$$;
REVOKE ALL ON FUNCTION queue.begin_provider_call(text, text, bigint, text, text, text, double precision) FROM PUBLIC;
