-- 0006_pre_schedules: jobs enqueued on a cron schedule kept in the database.
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

-- Keep next_run_at honest when a row is edited in SQL: a disabled schedule has
-- no next run, and one enabled or given a new cron gets its next run computed
-- again by the task (from updated_at), unless the statement set next_run_at
-- itself, as the service does. updated_at moves only when the definition
-- changes, not when the task advances the row.
CREATE FUNCTION queue.schedules_before_update()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.cron, NEW.queue, NEW.job_type, NEW.data, NEW.priority, NEW.active)
       IS DISTINCT FROM (OLD.cron, OLD.queue, OLD.job_type, OLD.data, OLD.priority, OLD.active)
    THEN
        NEW.updated_at := now();
    END IF;
    IF NOT NEW.active THEN
        NEW.next_run_at := NULL;
    ELSIF (NOT OLD.active OR NEW.cron IS DISTINCT FROM OLD.cron)
          AND NEW.next_run_at IS NOT DISTINCT FROM OLD.next_run_at
    THEN
        NEW.next_run_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER schedules_before_update
    BEFORE UPDATE ON queue.schedules
    FOR EACH ROW EXECUTE FUNCTION queue.schedules_before_update();

-- The old service's scheduled jobs, disabled: cleanup daily at 02:00 UTC, and
-- the reconciliation report (failures as CSV) every five minutes.
INSERT INTO queue.schedules (name, cron, queue, job_type, data, active) VALUES
    ('cleanup-old-data', '0 2 * * *', 'background', 'cleanup-old-data',
     '{"target": "all"}', false),
    ('reconciliation-report', '*/5 * * * *', 'background', 'generate-report',
     '{"reportType": "failures", "format": "csv"}', false);
ANALYZE queue.schedules;

-- psql: each schedule with how long until its next run (data left out: it may
-- carry personal data).
CREATE VIEW queue.schedule_status AS
SELECT s.name, s.cron, s.queue, s.job_type, s.active, s.priority, s.last_run_at,
       s.last_job_id, s.last_error, s.next_run_at,
       -- NULL while there is no next run (greatest() would make it 0).
       CASE WHEN s.next_run_at IS NOT NULL
            THEN greatest(0, extract(epoch FROM s.next_run_at - now()))::float8
       END AS next_run_in_s,
       s.updated_at
FROM queue.schedules AS s;
GRANT SELECT ON queue.schedule_status TO queue_reader;
