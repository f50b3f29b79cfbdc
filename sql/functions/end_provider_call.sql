-- Finish a provider call begun by queue.begin_provider_call: free its leases,
-- record the answer in the ledger, and move the breaker. outcome is one of
-- succeeded, rejected (the provider refused: it is up), unavailable (5xx,
-- timeout, unreachable: counts toward opening), rate_limited (holds the
-- bucket and its group for retry_after_s, or their cooldown, at least 1 s,
-- and halves their rate, which recovers over recover_s: queue.bucket_rate)
-- or not_sent (the call never left: nothing but the leases changes).
-- A call that opens the breaker parks the breaker's waiting jobs
-- (queue.hold_breaker_jobs). Returns the breaker's state after the call.
CREATE OR REPLACE FUNCTION queue.end_provider_call(
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
    opened_now boolean := false;
    reopens_at timestamptz;
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
        -- Hold, and slow down: half the rate it has now, recovering from now.
        UPDATE queue.rate_limits AS x
        SET hold_until = greatest(coalesce(x.hold_until, at),
                                  at + make_interval(secs => coalesce(retry_after_s, greatest(x.cooldown_s, 1)))),
            tokens = 0,
            rate_factor = greatest(0.1, queue.bucket_rate(x, at) / x.rate_per_s / 2),
            slowed_at = at,
            updated_at = at
        WHERE x.name = bucket
           OR x.name = (SELECT y.group_name FROM queue.rate_limits AS y WHERE y.name = bucket);
        -- The bucket refills from the end of its hold, not during it.
        UPDATE queue.rate_limits AS x SET refilled_at = x.hold_until
        WHERE (x.name = bucket
           OR x.name = (SELECT y.group_name FROM queue.rate_limits AS y WHERE y.name = bucket))
          AND x.hold_until > at;
    END IF;

    -- A failure counts only when it says something new: a call of a closed
    -- breaker, or the probe of a half-open one. Calls that were out when it
    -- opened answer later; they neither count again nor reopen it. Any
    -- answer of the provider (a success, a refusal) closes it.
    UPDATE queue.circuit_breakers AS b
    SET state = CASE
            WHEN outcome IN ('succeeded', 'rejected') THEN 'closed'
            WHEN b.state = 'half_open' OR b.failures + 1 >= b.failure_threshold THEN 'open'
            ELSE b.state
        END,
        failures = CASE WHEN outcome IN ('succeeded', 'rejected') THEN 0 ELSE b.failures + 1 END,
        opened_at = CASE
            WHEN outcome = 'unavailable' AND (b.state = 'half_open' OR b.failures + 1 >= b.failure_threshold)
                THEN at
            ELSE b.opened_at
        END,
        retry_at = CASE
            WHEN outcome IN ('succeeded', 'rejected') THEN NULL
            WHEN b.state = 'half_open' OR b.failures + 1 >= b.failure_threshold
                THEN at + make_interval(secs => b.open_s)
            ELSE b.retry_at
        END,
        probe_key = NULL,
        last_error = CASE WHEN outcome = 'unavailable' THEN end_provider_call.error ELSE b.last_error END,
        updated_at = at
    WHERE b.provider = end_provider_call.provider
      -- Written only when the call changes it: a success on a closed breaker
      -- without failures, the commonest call, leaves the row alone.
      AND ((outcome = 'unavailable'
            AND (b.state = 'closed' OR (b.state = 'half_open' AND b.probe_key = ledger_key)))
           OR (outcome IN ('succeeded', 'rejected')
               AND (b.state <> 'closed' OR b.failures <> 0 OR b.retry_at IS NOT NULL)))
    RETURNING b.state, b.opened_at = at, b.retry_at INTO new_state, opened_now, reopens_at;
    IF NOT FOUND THEN
        SELECT b.state INTO new_state FROM queue.circuit_breakers AS b
        WHERE b.provider = end_provider_call.provider;
    ELSIF opened_now THEN
        -- Park the breaker's waiting jobs now, in one statement, rather than
        -- run each only to be turned away until the breaker half-opens.
        PERFORM queue.hold_breaker_jobs(end_provider_call.provider, reopens_at);
    END IF;
    RETURN new_state;
END;
$$;
REVOKE ALL ON FUNCTION queue.end_provider_call(bigint[], text, text, text, text, jsonb, text, double precision) FROM PUBLIC;
