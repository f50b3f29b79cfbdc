-- 0004_pre_api: what the HTTP API records and answers from.
--
-- Intent: the audit log of operator actions; the provider rate-limit buckets
-- (token buckets with burst, concurrency leases and emergency stop) that the
-- API reports on and the workers will draw from; clearing a queue by state.
--
-- Lock impact: new objects only.
-- Operator steps: none.

-- Who did what to which queue, job, bucket or alert, from where.
CREATE TABLE queue.audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    role text NOT NULL,
    action text NOT NULL,
    target text NOT NULL,
    request_id text,
    ip text,
    details jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT audit_log_pkey PRIMARY KEY (id)
);
CREATE INDEX audit_log_at_idx ON queue.audit_log (at);
COMMENT ON TABLE queue.audit_log IS
    'Operator actions: pause, resume, clear, retry, cancel, rate-limit reset/stop/resume, alert acknowledge, config changes.';

-- Token buckets per provider, shared by every process. A bucket refills at
-- rate_per_s up to burst tokens; max_concurrent caps calls in flight through
-- leases that expire (a dead worker leaks nothing); paused is the emergency
-- stop; hold_until is set when a provider says Retry-After. A bucket with a
-- group also draws from its group's bucket (twilio-sms and twilio-voice share
-- twilio's).
CREATE TABLE queue.rate_limits (
    name text NOT NULL,
    group_name text,
    rate_per_s double precision NOT NULL,
    burst integer NOT NULL,
    max_concurrent integer,
    cooldown_s double precision NOT NULL DEFAULT 0,
    paused boolean NOT NULL DEFAULT false,
    tokens double precision NOT NULL,
    refilled_at timestamptz NOT NULL DEFAULT now(),
    hold_until timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rate_limits_pkey PRIMARY KEY (name),
    CONSTRAINT rate_limits_group_name_fkey FOREIGN KEY (group_name) REFERENCES queue.rate_limits (name),
    CONSTRAINT rate_limits_rate_check CHECK (rate_per_s > 0 AND burst >= 1 AND cooldown_s >= 0),
    CONSTRAINT rate_limits_max_concurrent_check CHECK (max_concurrent IS NULL OR max_concurrent >= 1),
    CONSTRAINT rate_limits_tokens_check CHECK (tokens >= 0 AND tokens <= burst)
);
COMMENT ON TABLE queue.rate_limits IS
    'Provider token buckets: rate, burst, max concurrent (leases), cooldown, emergency stop (paused), Retry-After hold.';

INSERT INTO queue.rate_limits (name, group_name, rate_per_s, burst, max_concurrent, tokens) VALUES
    ('stripe', NULL, 25, 50, 10, 50),
    ('sendgrid', NULL, 5, 100, 20, 100),
    ('twilio', NULL, 1, 10, 5, 10),
    ('minting', NULL, 10, 30, 5, 30),
    ('internal', NULL, 100, 200, NULL, 200);
INSERT INTO queue.rate_limits (name, group_name, rate_per_s, burst, max_concurrent, tokens) VALUES
    ('twilio-sms', 'twilio', 1, 10, 5, 10),
    ('twilio-voice', 'twilio', 1, 10, 5, 10);

-- A provider call in flight. Expires by itself, so a killed worker frees its slot.
CREATE TABLE queue.rate_limit_leases (
    id bigint GENERATED ALWAYS AS IDENTITY,
    bucket text NOT NULL,
    job_id bigint,
    expires_at timestamptz NOT NULL,
    CONSTRAINT rate_limit_leases_pkey PRIMARY KEY (id),
    CONSTRAINT rate_limit_leases_bucket_fkey FOREIGN KEY (bucket) REFERENCES queue.rate_limits (name)
        ON DELETE CASCADE
);
CREATE INDEX rate_limit_leases_bucket_idx ON queue.rate_limit_leases (bucket, expires_at);

-- psql: each bucket with its tokens as of now and its live leases.
CREATE VIEW queue.rate_limit_status AS
SELECT
    r.name,
    r.group_name,
    r.rate_per_s,
    r.burst,
    r.max_concurrent,
    r.cooldown_s,
    r.paused,
    least(r.burst::double precision,
          r.tokens + r.rate_per_s * extract(epoch FROM now() - r.refilled_at)) AS tokens,
    r.hold_until,
    (SELECT count(*) FROM queue.rate_limit_leases AS l
     WHERE l.bucket = r.name AND l.expires_at > now()) AS active_leases,
    r.updated_at
FROM queue.rate_limits AS r;
GRANT SELECT ON queue.rate_limit_status TO queue_reader;

-- Remove jobs of a queue in one state: 'completed' (succeeded), 'failed',
-- 'delayed' (waiting for a future run time) or 'wait' (due and waiting).
-- Running jobs are never touched. Keys of removed waiting jobs are released, so
-- the same work can be enqueued again. Returns how many jobs were removed.
CREATE FUNCTION queue.clear_queue(queue_name text, kind text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    removed bigint[];
BEGIN
    IF kind NOT IN ('completed', 'failed', 'delayed', 'wait') THEN
        RAISE EXCEPTION 'cannot clear "%": choose completed, failed, delayed or wait', kind
            USING ERRCODE = 'QS009';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM queue.queues AS q WHERE q.name = clear_queue.queue_name) THEN
        RAISE EXCEPTION 'unknown queue "%"', clear_queue.queue_name USING ERRCODE = 'QS001';
    END IF;
    WITH gone AS (
        DELETE FROM procrastinate_jobs AS j
        WHERE j.queue_name = clear_queue.queue_name
          AND CASE kind
                WHEN 'completed' THEN j.status = 'succeeded'
                WHEN 'failed' THEN j.status = 'failed'
                WHEN 'delayed' THEN j.status = 'todo' AND j.scheduled_at > now()
                ELSE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
              END
        RETURNING j.id
    )
    SELECT coalesce(array_agg(id), '{}') INTO removed FROM gone;
    IF kind IN ('delayed', 'wait') THEN
        DELETE FROM queue.idempotency_keys AS k WHERE k.job_id = ANY (removed);
    END IF;
    RETURN cardinality(removed);
END;
$$;
REVOKE ALL ON FUNCTION queue.clear_queue(text, text) FROM PUBLIC;

-- Per-caller request counters of the API's rate limiter, one fixed window per
-- caller, shared by every API process. An API process leases a few requests
-- of a caller's window at a time (queue.lease_api_quota) and spends them
-- locally, so a busy caller costs one statement per lease, not per request;
-- leases never add up to more than the limit. UNLOGGED: a crash forgets the
-- counters, which only restarts windows.
CREATE UNLOGGED TABLE queue.api_rate_limit_windows (
    key text NOT NULL,
    window_start timestamptz NOT NULL,
    hits integer NOT NULL,
    CONSTRAINT api_rate_limit_windows_pkey PRIMARY KEY (key)
);

-- Lease up to `chunk` requests of `key`'s current window of `window_s` seconds,
-- without passing `max_hits`. Returns how many were granted (0: the caller is
-- over the limit), the window's hits after the lease, and the seconds until the
-- window ends.
CREATE FUNCTION queue.lease_api_quota(key text, window_s integer, max_hits integer, chunk integer)
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
