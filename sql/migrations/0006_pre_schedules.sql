-- 0006_pre_schedules: jobs enqueued on a cron schedule kept in the database.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
--
-- Intent: queue.schedules holds one row per schedule (a UTC cron expression,
-- the job's queue, type, data and priority, whether it is active, its last and
-- next run). The periodic task run-schedules (maintenance queue, every 15 s)
-- claims due rows with FOR UPDATE SKIP LOCKED and enqueues each due run through
-- queue.enqueue, with the idempotency key schedule-<name>-<run time>, in the
-- transaction that advances the row: each run is enqueued once, however many
-- processes race. Cron expressions are checked and next runs computed by the
-- service (croniter); the database stores the text. The old service's two
-- scheduled jobs ship as inactive rows.
--
-- Lock impact: new objects only; rows added to queue.job_types.
-- Operator steps: none. Enable a schedule with the API or
-- `UPDATE queue.schedules SET active = true WHERE name = '...'`.

INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, description) VALUES
    ('run-schedules', 'maintenance', 8, NULL, NULL, NULL,
     'Enqueue the due runs of active schedules (queue.schedules).');
ANALYZE queue.job_types;

-- One schedule per row. next_run_at is NULL while the schedule is inactive;
-- for an active row it is the next fire time of cron (UTC), or NULL until the
-- run-schedules task computes it (a row enabled or inserted from SQL).
-- last_run_at is the last run time handled, last_job_id the job it enqueued
-- (NULL when the enqueue failed) and last_error why it failed.
CREATE TABLE queue.schedules (
    name text NOT NULL,
    cron text NOT NULL,
    queue text NOT NULL,
    job_type text NOT NULL,
    data jsonb NOT NULL DEFAULT '{}',
    priority integer,
    active boolean NOT NULL DEFAULT false,
    last_run_at timestamptz,
    last_job_id bigint,
    last_error text,
    next_run_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_pkey PRIMARY KEY (name),
    CONSTRAINT schedules_queue_fkey FOREIGN KEY (queue) REFERENCES queue.queues (name)
        ON UPDATE CASCADE,
    CONSTRAINT schedules_job_type_fkey FOREIGN KEY (job_type) REFERENCES queue.job_types (name)
        ON UPDATE CASCADE,
    -- The name goes into idempotency keys (at most 512 bytes) and log lines.
    CONSTRAINT schedules_name_check CHECK (name ~ '^[a-z0-9][a-z0-9._-]*$' AND octet_length(name) <= 100),
    CONSTRAINT schedules_cron_check CHECK (octet_length(cron) BETWEEN 1 AND 100),
    CONSTRAINT schedules_data_check CHECK (jsonb_typeof(data) = 'object'),
    CONSTRAINT schedules_priority_check CHECK (priority BETWEEN 1 AND 10)
);
-- The task's claim: active rows by next run (NULL first).
CREATE INDEX schedules_next_run_at_idx ON queue.schedules (next_run_at NULLS FIRST)
    WHERE active;
CREATE INDEX schedules_job_type_idx ON queue.schedules (job_type);
CREATE INDEX schedules_queue_idx ON queue.schedules (queue);
COMMENT ON TABLE queue.schedules IS
    'Cron schedules (UTC): each due run is enqueued once by the run-schedules task, keyed schedule-<name>-<run time>.';

-- The old service's scheduled jobs, disabled: cleanup daily at 02:00 UTC, and
-- the reconciliation report (failures as CSV) every five minutes.
INSERT INTO queue.schedules (name, cron, queue, job_type, data, active) VALUES
    ('cleanup-old-data', '0 2 * * *', 'background', 'cleanup-old-data',
     '{"target": "all"}', false),
    ('reconciliation-report', '*/5 * * * *', 'background', 'generate-report',
     '{"reportType": "failures", "format": "csv"}', false);
ANALYZE queue.schedules;
