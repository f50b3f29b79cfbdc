-- 0005_pre_providers: what provider calls draw from and what they leave behind.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
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
