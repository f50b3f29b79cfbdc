-- 0004_pre_api: what the HTTP API records and answers from.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
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
