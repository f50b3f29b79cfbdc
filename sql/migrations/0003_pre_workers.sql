-- 0003_pre_workers: what workers and operators need to run, retry, rescue,
-- cancel, pause and prune jobs.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
--
-- Intent: workers claim jobs in batches (queue.fetch_jobs) and complete them in
-- batches with their outcome rows (queue.finish_jobs), so a job costs a fraction
-- of a statement instead of two; retries, rescues, cancels and manual retries
-- are SQL functions the CLI, the API and the periodic tasks share; retention
-- deletes in bounded batches per queue policy.
--
-- Lock impact: new objects, plus ALTER TABLE ... ADD COLUMN with constant
-- defaults on queue.queues and queue.job_outcomes (metadata-only in PG 11+).
-- Operator steps: none.

-- How long an idempotency key keeps answering "already enqueued" once its job
-- is finished. Editable per queue like the rest of the policy.
ALTER TABLE queue.queues
    ADD COLUMN idempotency_key_ttl interval NOT NULL DEFAULT '7 days',
    ADD CONSTRAINT queues_idempotency_key_ttl_check CHECK (idempotency_key_ttl >= '0');
UPDATE queue.queues SET idempotency_key_ttl = '90 days' WHERE name = 'money';
UPDATE queue.queues SET idempotency_key_ttl = '1 day' WHERE name = 'background';

-- Periodic maintenance (stalled-job rescue, retention) runs on its own queue, so
-- pausing or flooding a business queue never stops it.
INSERT INTO queue.queues (
    name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
    backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency,
    alert_max_waiting, alert_max_oldest_age, alert_max_failed_per_hour, idempotency_key_ttl
) VALUES
    ('maintenance', 'ephemeral', 1, 'fixed', 10, 1, NULL, false,
     '0', '7 days', false, 2, 100, '10 minutes', 10, '1 day');
INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, description) VALUES
    ('rescue-stalled-jobs', 'maintenance', 10, NULL, NULL, NULL,
     'Return jobs of workers that stopped heartbeating to their queue.'),
    ('run-retention', 'maintenance', 5, NULL, NULL, NULL,
     'Delete finished jobs, outcomes, keys, metrics and alerts past their retention.');
ANALYZE queue.queues, queue.job_types;

-- The key of the job an outcome belongs to, so a job whose key already
-- succeeded can answer with the recorded result instead of running again.
ALTER TABLE queue.job_outcomes ADD COLUMN idempotency_key text;
CREATE INDEX job_outcomes_succeeded_key_idx ON queue.job_outcomes (idempotency_key)
    WHERE status = 'succeeded' AND idempotency_key IS NOT NULL;

-- Events recorded by analytics-track. job_id is unique: a rescued or retried
-- job records its event once.
CREATE TABLE queue.analytics_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    job_id bigint NOT NULL,
    event_type text NOT NULL,
    user_id uuid,
    venue_id uuid,
    properties jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_events_pkey PRIMARY KEY (id),
    CONSTRAINT analytics_events_job_id_key UNIQUE (job_id)
);
CREATE INDEX analytics_events_occurred_at_idx ON queue.analytics_events (occurred_at);

-- Snapshots of queue.overview, written by the monitor; kept 30 days.
CREATE TABLE queue.queue_metrics (
    id bigint GENERATED ALWAYS AS IDENTITY,
    queue_name text NOT NULL,
    captured_at timestamptz NOT NULL DEFAULT now(),
    waiting bigint NOT NULL,
    scheduled bigint NOT NULL,
    running bigint NOT NULL,
    succeeded_last_hour bigint NOT NULL,
    failed_last_hour bigint NOT NULL,
    oldest_waiting_age_s double precision,
    CONSTRAINT queue_metrics_pkey PRIMARY KEY (id)
);
CREATE INDEX queue_metrics_captured_at_idx ON queue.queue_metrics (captured_at, queue_name);

-- Alerts raised by the monitor; kept 7 days.
CREATE TABLE queue.alert_history (
    id bigint GENERATED ALWAYS AS IDENTITY,
    severity text NOT NULL,
    type text NOT NULL,
    queue_name text,
    value double precision,
    threshold double precision,
    message text NOT NULL,
    channels jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    CONSTRAINT alert_history_pkey PRIMARY KEY (id),
    CONSTRAINT alert_history_severity_check CHECK (severity IN ('critical', 'warning', 'info'))
);
CREATE INDEX alert_history_created_at_idx ON queue.alert_history (created_at);
