-- 0001_pre_queue_core: schema `queue`, policy tables, the single enqueue path.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
--
-- Intent: everything a job needs before a worker sees it. `queue.queues` holds the
-- per-queue policy (the old service's persistence tiers), `queue.job_types` maps each
-- job type to its queue, default priority and idempotency-key template, and
-- `queue.enqueue` / `queue.enqueue_many` are the only way jobs are created: HTTP,
-- Python and other services' SQL all call them.
--
-- Lock impact: creates new objects only; procrastinate's tables are untouched here
-- (their indexes and storage settings are in 0002).
-- Operator steps: none.

-- Policy per queue. A tier is a preset of these values; any row may be edited
-- at run time, and new queues may be added.
CREATE TABLE queue.queues (
    name text NOT NULL,
    tier text NOT NULL,
    max_attempts integer NOT NULL,
    backoff text NOT NULL,
    backoff_base_s double precision NOT NULL,
    backoff_factor double precision NOT NULL DEFAULT 2,
    backoff_cap_s double precision,
    backoff_jitter boolean NOT NULL DEFAULT false,
    keep_succeeded interval NOT NULL,
    keep_failed interval NOT NULL,
    keep_results boolean NOT NULL,
    concurrency integer NOT NULL,
    alert_max_waiting integer NOT NULL,
    alert_max_oldest_age interval NOT NULL,
    alert_max_failed_per_hour integer NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queues_pkey PRIMARY KEY (name),
    -- procrastinate builds NOTIFY channel names from queue names and Postgres
    -- caps those at 63 bytes; "-queue" is reserved for the old service's aliases.
    CONSTRAINT queues_name_check CHECK (
        name ~ '^[a-z][a-z0-9_-]*$' AND octet_length(name) <= 40 AND name !~ '-queue$'
    ),
    CONSTRAINT queues_tier_check CHECK (tier IN ('critical', 'important', 'ephemeral')),
    CONSTRAINT queues_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
    CONSTRAINT queues_backoff_check CHECK (backoff IN ('exponential', 'fixed')),
    CONSTRAINT queues_backoff_base_s_check CHECK (backoff_base_s > 0),
    CONSTRAINT queues_backoff_factor_check CHECK (backoff_factor >= 1),
    CONSTRAINT queues_backoff_cap_s_check CHECK (backoff_cap_s IS NULL OR backoff_cap_s >= backoff_base_s),
    CONSTRAINT queues_keep_check CHECK (keep_succeeded >= '0' AND keep_failed >= '0'),
    CONSTRAINT queues_concurrency_check CHECK (concurrency BETWEEN 1 AND 1000),
    CONSTRAINT queues_alert_check CHECK (
        alert_max_waiting > 0 AND alert_max_oldest_age > '0' AND alert_max_failed_per_hour > 0
    )
);
COMMENT ON TABLE queue.queues IS
    'Policy per queue: retries, backoff, retention (keep_succeeded 0 = delete on success), concurrency per worker process, alert thresholds, paused.';

INSERT INTO queue.queues (
    name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
    backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency,
    alert_max_waiting, alert_max_oldest_age, alert_max_failed_per_hour
) VALUES
    ('money', 'critical', 10, 'exponential', 2, 2, 3600, true,
     '90 days', '365 days', true, 5, 50, '10 minutes', 10),
    ('communication', 'important', 3, 'fixed', 5, 1, NULL, false,
     '7 days', '30 days', true, 20, 5000, '30 minutes', 100),
    ('background', 'ephemeral', 2, 'fixed', 10, 1, NULL, false,
     '0', '7 days', false, 10, 50000, '120 minutes', 1000);

-- Job types. An idempotency_key_template renders a key from the payload when the
-- caller gives none: `{field}` is a payload field, `{a|b}` the first present of
-- a and b, `{date}` / `{hour}` the UTC enqueue date (YYYY-MM-DD) and hour
-- (YYYY-MM-DDTHH). NULL means no automatic key (callers may still pass one).
CREATE TABLE queue.job_types (
    name text NOT NULL,
    queue text NOT NULL,
    default_priority integer NOT NULL,
    idempotency_key_template text,
    keep_succeeded interval,
    provider text,
    description text NOT NULL,
    CONSTRAINT job_types_pkey PRIMARY KEY (name),
    CONSTRAINT job_types_queue_fkey FOREIGN KEY (queue) REFERENCES queue.queues (name)
        ON UPDATE CASCADE,
    CONSTRAINT job_types_name_check CHECK (name ~ '^[a-z][a-z0-9-]*$' AND octet_length(name) <= 128),
    CONSTRAINT job_types_default_priority_check CHECK (default_priority BETWEEN 1 AND 10),
    CONSTRAINT job_types_idempotency_key_template_check CHECK (
        idempotency_key_template ~ '^([^{}]|\{[A-Za-z][A-Za-z0-9_]*(\|[A-Za-z][A-Za-z0-9_]*)*\})+$'
    ),
    CONSTRAINT job_types_keep_succeeded_check CHECK (keep_succeeded >= '0')
);
CREATE INDEX job_types_queue_idx ON queue.job_types (queue);
COMMENT ON TABLE queue.job_types IS
    'Job type -> queue, default priority (higher runs first), idempotency-key template, retention override, provider.';

INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, description) VALUES
    ('payment-process', 'money', 10, 'payment-{venueId}-{userId}-{eventId}-{amount}', NULL, 'stripe',
     'Create and confirm a Stripe PaymentIntent.'),
    ('refund-process', 'money', 10, 'refund-{transactionId}', NULL, 'stripe',
     'Refund a Stripe payment.'),
    ('payout-process', 'money', 10, 'payout-{venueId}-{payoutId}', NULL, 'stripe',
     'Pay a venue out through Stripe; payoutId is the caller''s own payout record id.'),
    ('nft-mint', 'money', 7, 'nft-{eventId}-{seatId|ticketId}', '365 days', 'minting',
     'Mint a ticket NFT through the minting service.'),
    ('send-email', 'communication', 5, 'email-{template|subject}-{to}-{date}', NULL, 'sendgrid',
     'Send an email through SendGrid.'),
    ('send-sms', 'communication', 5, 'sms-{to}-{template}-{hour}', NULL, 'twilio',
     'Send an SMS through Twilio.'),
    ('send-push', 'communication', 5, 'push-{userId}-{title}-{hour}', NULL, 'push',
     'Send a push notification through the push gateway.'),
    ('webhook-deliver', 'communication', 5, 'webhook-{eventId}-{url}', NULL, 'webhook',
     'POST a signed JSON event to a subscriber URL.'),
    ('analytics-track', 'background', 3, NULL, NULL, NULL,
     'Record an analytics event.'),
    ('cleanup-old-data', 'background', 1, NULL, NULL, NULL,
     'Delete data the service owns past its lifetime.'),
    ('generate-report', 'background', 3, NULL, NULL, NULL,
     'Write a CSV or JSON report over the service''s own data.');

-- Idempotency keys. The primary key is what makes enqueue idempotent under races:
-- the first insert of a key wins, a concurrent one waits for it and then sees it.
-- job_id is set in the same transaction as the insert. No foreign key to the job:
-- retention may delete a finished job before its key expires, and the key must
-- keep answering "already done" until then.
CREATE TABLE queue.idempotency_keys (
    key text NOT NULL,
    job_type text NOT NULL,
    job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Fingerprint of the HTTP request that created the job (meta.request_hash),
    -- so a replay with another body under the same key can be told apart.
    request_hash text,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key),
    CONSTRAINT idempotency_keys_key_check CHECK (octet_length(key) BETWEEN 1 AND 512)
);
CREATE INDEX idempotency_keys_created_at_idx ON queue.idempotency_keys (created_at);

-- One row per attempt of a job, written by the worker. The overview and the
-- failures view read recent outcomes from here rather than from procrastinate's
-- finished jobs, which have no timestamp to index.
CREATE TABLE queue.job_outcomes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    job_id bigint NOT NULL,
    queue_name text NOT NULL,
    job_type text NOT NULL,
    attempt integer NOT NULL,
    status text NOT NULL,
    error_type text,
    error_message text,
    result jsonb,
    worker_id bigint,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_outcomes_pkey PRIMARY KEY (id),
    CONSTRAINT job_outcomes_status_check CHECK (
        status IN ('succeeded', 'failed', 'retried', 'interrupted', 'rate_limited', 'cancelled',
                   'aborted', 'rescued')
    ),
    CONSTRAINT job_outcomes_attempt_check CHECK (attempt >= 1)
);
CREATE INDEX job_outcomes_job_id_idx ON queue.job_outcomes (job_id, attempt);
-- Serves the overview's "last hour" counts (index-only) and retention's scan of
-- old outcomes, both per queue.
CREATE INDEX job_outcomes_queue_name_finished_at_idx
    ON queue.job_outcomes (queue_name, finished_at) INCLUDE (status);

-- A validated job of a batch, on its way to procrastinate.
CREATE TYPE queue.enqueue_row AS (
    job_index integer,
    queue_name text,
    job_type text,
    priority integer,
    run_at timestamptz,
    idempotency_key text,
    first_of_key boolean,
    args jsonb,
    error_code text,
    error_message text
);
