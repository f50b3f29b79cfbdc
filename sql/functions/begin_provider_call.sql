-- Start a provider call for a job, or say why it may not go yet.
--
-- In order: a succeeded ledger row for the key answers at once (verdict
-- 'recorded', nothing else is touched); then queue.admission decides, from
-- the breaker (queue.breaker_name of the provider and the call's subject,
-- a webhook's URL) and the
-- bucket with its group's bucket: 'breaker_open', 'stopped', 'held',
-- 'concurrency' or 'tokens', with wait_s, how long until the call could go.
-- Only when everything admits the call does anything change: a token and a
-- lease are taken from each bucket, a half-open breaker records its probe,
-- and the ledger row is written as started. breaker names the breaker the
-- call went through, for queue.end_provider_call.
-- Rows are locked breaker first (only when it is not closed), then buckets in
-- name order: callers never deadlock, and the verdict holds until the tokens
-- are taken.
CREATE OR REPLACE FUNCTION queue.begin_provider_call(
    bucket text,
    provider text,
    job_id bigint,
    ledger_key text,
    step text,
    fingerprint text,
    lease_s double precision,
    subject text DEFAULT NULL
)
    RETURNS TABLE (
        verdict text,
        wait_s double precision,
        lease_ids bigint[],
        response jsonb,
        breaker_state text,
        tokens_left double precision,
        breaker text
    )
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    at timestamptz := clock_timestamp();
    ledger record;
    breaker_name text;
    state text;
    checked record;
    buckets integer := 0;
    drawn text[];
    r queue.rate_limits;
    available double precision;
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
                            ledger.response, NULL::text, NULL::double precision, NULL::text;
        RETURN;
    END IF;

    breaker_name := queue.breaker_name(provider, subject);
    SELECT b.state INTO state FROM queue.circuit_breakers AS b
    WHERE b.provider = breaker_name;
    IF NOT FOUND AND breaker_name LIKE '%:%' THEN
        -- A member of a provider family (webhook:<host>) gets its own breaker
        -- on first use, with the family's thresholds.
        INSERT INTO queue.circuit_breakers AS b (provider, failure_threshold, open_s)
        SELECT breaker_name, f.failure_threshold, f.open_s
        FROM queue.circuit_breakers AS f
        WHERE f.provider = split_part(breaker_name, ':', 1)
        ON CONFLICT ON CONSTRAINT circuit_breakers_pkey DO NOTHING;
        SELECT b.state INTO state FROM queue.circuit_breakers AS b
        WHERE b.provider = breaker_name;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown provider "%": no row in queue.circuit_breakers', breaker_name
            USING ERRCODE = 'QS015';
    END IF;
    -- A closed breaker admits the call without a lock, so calls to a healthy
    -- provider do not queue on its one row. An open or half-open one is
    -- locked (and read again), so that exactly one caller takes the probe.
    IF state <> 'closed' THEN
        SELECT b.state INTO state FROM queue.circuit_breakers AS b
        WHERE b.provider = breaker_name FOR UPDATE;
    END IF;

    -- The bucket and its group's bucket, locked once; the rest works on these.
    SELECT array_agg(locked.name ORDER BY locked.name) INTO drawn
    FROM (
        SELECT x.name FROM queue.rate_limits AS x
        WHERE x.name = bucket
           OR x.name = (SELECT y.group_name FROM queue.rate_limits AS y WHERE y.name = bucket)
        ORDER BY x.name
        FOR UPDATE
    ) AS locked;
    DELETE FROM queue.rate_limit_leases AS l
    WHERE l.expires_at <= at AND l.bucket = ANY (drawn);

    FOR checked IN SELECT * FROM queue.admission(bucket, breaker_name, at) LOOP
        IF checked.breaker_state IS NOT NULL THEN
            IF checked.verdict = 'breaker_open' THEN
                RETURN QUERY SELECT 'breaker_open'::text, checked.wait_s, '{}'::bigint[], NULL::jsonb,
                                    state, NULL::double precision, breaker_name;
                RETURN;
            END IF;
        ELSE
            buckets := buckets + 1;
            IF checked.verdict <> 'go' THEN
                why := coalesce(why, checked.verdict);
                wait := greatest(wait, checked.wait_s);
            END IF;
        END IF;
    END LOOP;
    IF buckets = 0 THEN
        RAISE EXCEPTION 'unknown rate limit "%"', bucket USING ERRCODE = 'QS015';
    END IF;
    IF why IS NOT NULL THEN
        RETURN QUERY SELECT why, wait, '{}'::bigint[], NULL::jsonb, state, NULL::double precision,
                            breaker_name;
        RETURN;
    END IF;

    FOR r IN SELECT * FROM queue.rate_limits AS x WHERE x.name = ANY (drawn) ORDER BY x.name LOOP
        available := queue.bucket_tokens(r, at);
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

    -- Open long enough, or the last probe never reported: this call probes.
    IF state <> 'closed' THEN
        UPDATE queue.circuit_breakers AS b
        SET state = 'half_open', retry_at = at + make_interval(secs => b.open_s),
            probe_key = begin_provider_call.ledger_key, updated_at = at
        WHERE b.provider = breaker_name;
        state := 'half_open';
    END IF;

    INSERT INTO queue.side_effects AS s (key, job_id, provider, step, fingerprint, status)
    VALUES (ledger_key, begin_provider_call.job_id, breaker_name,
            begin_provider_call.step, begin_provider_call.fingerprint, 'started')
    ON CONFLICT ON CONSTRAINT side_effects_pkey DO UPDATE
    SET status = 'started', calls = s.calls + 1,
        -- The last call never recorded its answer: this one may be a duplicate.
        resends = s.resends + CASE WHEN s.status = 'started' THEN 1 ELSE 0 END,
        job_id = excluded.job_id,
        fingerprint = excluded.fingerprint, error = NULL, started_at = at, finished_at = NULL;

    RETURN QUERY SELECT 'go'::text, 0::double precision, ids, NULL::jsonb, state,
                        left_in_bucket, breaker_name;
END;
$$;
REVOKE ALL ON FUNCTION queue.begin_provider_call(text, text, bigint, text, text, text, double precision, text) FROM PUBLIC;
