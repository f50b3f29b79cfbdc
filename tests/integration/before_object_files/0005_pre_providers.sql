-- 0005_pre_providers: what provider calls draw from and what they leave behind.
--
-- Intent: workers call Stripe, SendGrid, Twilio, minting, push and webhooks
-- through one gate shared by every process: a circuit breaker per provider
-- (queue.circuit_breakers), the token buckets of 0004 with expiring leases,
-- and a ledger of side effects (queue.side_effects) so that a retried or
-- rescued job reuses a recorded answer instead of calling again.
-- queue.begin_provider_call and queue.end_provider_call are the two
-- statements around every call.
--
-- Lock impact: new objects; CREATE OR REPLACE of the view queue.rate_limit_status
-- (same columns).
-- Operator steps: none.

-- One breaker per provider, shared by every process. closed: calls go.
-- open: calls are refused until retry_at. half_open: one probe call is out
-- (until retry_at, when its claim lapses); its result closes or reopens it.
-- Only failures of the provider's side (5xx, timeouts, unreachable) count;
-- a refusal (4xx) shows the provider is up. Webhooks get a breaker per
-- subscriber host (webhook:<host>), made on first use from the webhook row.
CREATE TABLE queue.circuit_breakers (
    provider text NOT NULL,
    state text NOT NULL DEFAULT 'closed',
    failures integer NOT NULL DEFAULT 0,
    failure_threshold integer NOT NULL DEFAULT 5,
    open_s double precision NOT NULL DEFAULT 30,
    opened_at timestamptz,
    retry_at timestamptz,
    last_error text,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT circuit_breakers_pkey PRIMARY KEY (provider),
    CONSTRAINT circuit_breakers_state_check CHECK (state IN ('closed', 'open', 'half_open')),
    CONSTRAINT circuit_breakers_threshold_check CHECK (failure_threshold >= 1 AND open_s > 0)
);
COMMENT ON TABLE queue.circuit_breakers IS
    'Circuit breaker per provider: closed, open until retry_at, or half_open with one probe out.';
INSERT INTO queue.circuit_breakers (provider) VALUES
    ('stripe'), ('sendgrid'), ('twilio'), ('minting'), ('push'), ('webhook');

-- Every provider call a job made, by the job's key and the call's step
-- (payment-…:create, payment-…:confirm). Written before the call (started)
-- and after it (succeeded with the answer, or failed with the error). A
-- succeeded row answers any later attempt of the same key and step without a
-- call; a started row left by a worker that died mid-call means the call may
-- or may not have reached the provider (calls counts the tries).
CREATE TABLE queue.side_effects (
    key text NOT NULL,
    job_id bigint NOT NULL,
    provider text NOT NULL,
    step text NOT NULL,
    fingerprint text NOT NULL,
    status text NOT NULL,
    calls integer NOT NULL DEFAULT 1,
    response jsonb,
    error text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CONSTRAINT side_effects_pkey PRIMARY KEY (key),
    CONSTRAINT side_effects_status_check CHECK (status IN ('started', 'succeeded', 'failed'))
);
CREATE INDEX side_effects_job_id_idx ON queue.side_effects (job_id);
CREATE INDEX side_effects_started_at_idx ON queue.side_effects (started_at);
COMMENT ON TABLE queue.side_effects IS
    'Provider calls per job key and step: request fingerprint, answer; reused by retries and rescues.';

-- Tokens never show below zero while a Retry-After hold lasts (the bucket
-- refills from the end of the hold). The provider's breaker (the group's,
-- for a bucket in a group) is shown beside its bucket.
CREATE OR REPLACE VIEW queue.rate_limit_status AS
SELECT
    r.name,
    r.group_name,
    r.rate_per_s,
    r.burst,
    r.max_concurrent,
    r.cooldown_s,
    r.paused,
    greatest(0, least(r.burst::double precision,
          r.tokens + r.rate_per_s * extract(epoch FROM now() - r.refilled_at))) AS tokens,
    r.hold_until,
    (SELECT count(*) FROM queue.rate_limit_leases AS l
     WHERE l.bucket = r.name AND l.expires_at > now()) AS active_leases,
    r.updated_at,
    b.state AS breaker_state,
    b.retry_at AS breaker_retry_at
FROM queue.rate_limits AS r
LEFT JOIN queue.circuit_breakers AS b ON b.provider = coalesce(r.group_name, r.name);

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
CREATE FUNCTION queue.begin_provider_call(
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

-- Finish a provider call begun by queue.begin_provider_call: free its leases,
-- record the answer in the ledger, and move the breaker. outcome is one of
-- succeeded, rejected (the provider refused: it is up), unavailable (5xx,
-- timeout, unreachable: counts toward opening), rate_limited (holds the
-- bucket and its group for retry_after_s, or their cooldown, at least 1 s)
-- or not_sent (the call never left: nothing but the leases changes).
-- Returns the breaker's state after the call.
CREATE FUNCTION queue.end_provider_call(
    lease_ids bigint[],
    bucket text,
    provider text,
    ledger_key text,
    outcome text,
    response jsonb,
    error text,
    retry_after_s double precision
)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    at timestamptz := clock_timestamp();
    new_state text;
BEGIN
    IF outcome NOT IN ('succeeded', 'rejected', 'unavailable', 'rate_limited', 'not_sent') THEN
        RAISE EXCEPTION 'unknown call outcome "%"', outcome USING ERRCODE = 'QS009';
    END IF;
    DELETE FROM queue.rate_limit_leases AS l WHERE l.id = ANY (lease_ids);

    UPDATE queue.side_effects AS s
    SET status = CASE WHEN outcome = 'succeeded' THEN 'succeeded' ELSE 'failed' END,
        response = end_provider_call.response,
        error = end_provider_call.error,
        finished_at = at
    WHERE s.key = ledger_key;

    IF outcome = 'rate_limited' THEN
        UPDATE queue.rate_limits AS x
        SET hold_until = greatest(coalesce(x.hold_until, at),
                                  at + make_interval(secs => coalesce(retry_after_s, greatest(x.cooldown_s, 1)))),
            tokens = 0,
            updated_at = at
        WHERE x.name = bucket
           OR x.name = (SELECT y.group_name FROM queue.rate_limits AS y WHERE y.name = bucket);
        -- The bucket refills from the end of its hold, not during it.
        UPDATE queue.rate_limits AS x SET refilled_at = x.hold_until
        WHERE (x.name = bucket
           OR x.name = (SELECT y.group_name FROM queue.rate_limits AS y WHERE y.name = bucket))
          AND x.hold_until > at;
    END IF;

    UPDATE queue.circuit_breakers AS b
    SET state = CASE
            WHEN outcome IN ('succeeded', 'rejected') THEN 'closed'
            WHEN outcome = 'unavailable'
                 AND (b.state = 'half_open' OR b.failures + 1 >= b.failure_threshold) THEN 'open'
            ELSE b.state
        END,
        failures = CASE
            WHEN outcome IN ('succeeded', 'rejected') THEN 0
            WHEN outcome = 'unavailable' THEN b.failures + 1
            ELSE b.failures
        END,
        opened_at = CASE
            WHEN outcome = 'unavailable'
                 AND (b.state = 'half_open' OR b.failures + 1 >= b.failure_threshold) THEN at
            ELSE b.opened_at
        END,
        retry_at = CASE
            WHEN outcome IN ('succeeded', 'rejected') THEN NULL
            WHEN outcome = 'unavailable'
                 AND (b.state = 'half_open' OR b.failures + 1 >= b.failure_threshold)
                THEN at + make_interval(secs => b.open_s)
            ELSE b.retry_at
        END,
        last_error = CASE WHEN outcome = 'unavailable' THEN end_provider_call.error ELSE b.last_error END,
        updated_at = at
    WHERE b.provider = end_provider_call.provider
    RETURNING b.state INTO new_state;
    RETURN new_state;
END;
$$;
REVOKE ALL ON FUNCTION queue.end_provider_call(bigint[], text, text, text, text, jsonb, text, double precision) FROM PUBLIC;

-- Ledger rows outlive their jobs long enough for any retry, rescue or manual
-- retry; money keys live 90 days, so the ledger keeps 90 days too.
CREATE FUNCTION queue.forget_side_effects(older_than interval DEFAULT '90 days', batch_size integer DEFAULT 10000)
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

-- psql: each breaker with how long until it lets a call through.
CREATE VIEW queue.breaker_status AS
SELECT b.provider, b.state, b.failures, b.failure_threshold, b.open_s, b.opened_at,
       b.retry_at, greatest(0, extract(epoch FROM b.retry_at - now())) AS retry_in_s,
       b.last_error, b.updated_at
FROM queue.circuit_breakers AS b;
GRANT SELECT ON queue.breaker_status TO queue_reader;
