-- 0008_pre_monitoring: what the monitor reads, and how alerts page once.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
--
-- Intent: which queues each live worker serves (queue.worker_queues, written
-- by a worker's first claim), alert severities with their cooldowns and a
-- severity per queue, cooldowns per (queue, type, severity) kept here so that
-- any number of processes page once (queue.raise_alert), snapshots of
-- queue.overview (queue.capture_queue_metrics), the database's own health
-- (queue.database_health), each queue beside its thresholds
-- (queue.queue_health), hourly rollups for the metrics reports
-- (queue.roll_up_hours) and the unacknowledged alerts (queue.open_alerts).
--
-- Lock impact: new objects; ALTER TABLE queue.queues ADD COLUMN with a
-- constant default (metadata only).
-- Operator steps: for the age of other roles' transactions, grant the service
-- role pg_read_all_stats (otherwise only its own sessions are seen).

-- The queue each procrastinate worker serves. A worker records it with its
-- first claim; the row goes with the worker's (procrastinate prunes workers
-- that stopped heartbeating).
CREATE TABLE queue.worker_queues (
    worker_id bigint NOT NULL,
    queue_name text NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT worker_queues_pkey PRIMARY KEY (worker_id, queue_name),
    CONSTRAINT worker_queues_worker_id_fkey FOREIGN KEY (worker_id)
        REFERENCES procrastinate_workers (id) ON DELETE CASCADE
);
CREATE INDEX worker_queues_queue_name_idx ON queue.worker_queues (queue_name);

-- How long an alert of each severity stays quiet after it was raised.
CREATE TABLE queue.alert_severities (
    severity text NOT NULL,
    cooldown interval NOT NULL,
    CONSTRAINT alert_severities_pkey PRIMARY KEY (severity),
    CONSTRAINT alert_severities_cooldown_check CHECK (cooldown >= '0')
);
INSERT INTO queue.alert_severities (severity, cooldown) VALUES
    ('critical', '5 minutes'), ('warning', '1 hour'), ('info', '24 hours');
ALTER TABLE queue.alert_history
    ADD CONSTRAINT alert_history_severity_fkey FOREIGN KEY (severity)
        REFERENCES queue.alert_severities (severity);

-- The severity of a queue's alerts: money pages, background informs.
ALTER TABLE queue.queues
    ADD COLUMN alert_severity text NOT NULL DEFAULT 'warning',
    ADD CONSTRAINT queues_alert_severity_fkey FOREIGN KEY (alert_severity)
        REFERENCES queue.alert_severities (severity);
UPDATE queue.queues SET alert_severity = 'critical' WHERE name = 'money';
UPDATE queue.queues SET alert_severity = 'info' WHERE name = 'background';

-- When each (queue, type, severity) last raised an alert. queue_name is ''
-- for alerts about the database as a whole.
CREATE TABLE queue.alert_cooldowns (
    queue_name text NOT NULL,
    type text NOT NULL,
    severity text NOT NULL,
    last_raised_at timestamptz NOT NULL,
    CONSTRAINT alert_cooldowns_pkey PRIMARY KEY (queue_name, type, severity)
);

-- The metrics endpoints read attempts by time across queues (summary,
-- throughput) and failed or retried attempts by time (failure reports); the
-- (queue_name, finished_at) index serves neither, and a month of outcomes is
-- too many rows to scan per request. Both cover what the reports read.
CREATE INDEX job_outcomes_finished_at_idx ON queue.job_outcomes (finished_at)
    INCLUDE (queue_name, status);
CREATE INDEX job_outcomes_failures_idx ON queue.job_outcomes (finished_at)
    INCLUDE (queue_name, job_type, error_type)
    WHERE status IN ('failed', 'retried');
-- The hourly trend reads every snapshot of its window: an index-only scan.
CREATE INDEX queue_metrics_trend_idx ON queue.queue_metrics (captured_at)
    INCLUDE (queue_name, waiting, running, oldest_waiting_age_s, failed_last_hour);

-- Hourly rollups for the metrics reports over long windows. A month of
-- outcomes (a million rows and more) and of 30-second snapshots is too much
-- to aggregate per request; each complete hour is aggregated once, by the
-- monitor, into these tables, which outlive the outcomes retention deletes.
-- Rolled hours are contiguous (each run continues after the last one), so a
-- report reads [since, first rolled hour) and [last rolled hour + 1 h, now)
-- from the raw tables and everything between from the rollups: exact counts,
-- whatever the window.
CREATE TABLE queue.rolled_up_hours (
    hour timestamptz NOT NULL,
    rolled_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT rolled_up_hours_pkey PRIMARY KEY (hour),
    CONSTRAINT rolled_up_hours_hour_check CHECK (hour = date_trunc('hour', hour))
);
CREATE TABLE queue.outcome_hours (
    hour timestamptz NOT NULL,
    queue_name text NOT NULL,
    job_type text NOT NULL,
    status text NOT NULL,
    attempts bigint NOT NULL,
    CONSTRAINT outcome_hours_pkey PRIMARY KEY (hour, queue_name, job_type, status)
);
CREATE TABLE queue.error_hours (
    hour timestamptz NOT NULL,
    error_type text NOT NULL,
    message text NOT NULL,
    occurrences bigint NOT NULL,
    CONSTRAINT error_hours_pkey PRIMARY KEY (hour, error_type, message)
);
CREATE TABLE queue.queue_metric_hours (
    hour timestamptz NOT NULL,
    queue_name text NOT NULL,
    waiting bigint NOT NULL,
    running bigint NOT NULL,
    oldest_waiting_age_s double precision,
    failed_last_hour bigint NOT NULL,
    CONSTRAINT queue_metric_hours_pkey PRIMARY KEY (hour, queue_name)
);

-- The monitor and alert delivery run on the maintenance queue, like rescue.
INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, bucket, description) VALUES
    ('monitor', 'maintenance', 9, NULL, NULL, NULL, NULL,
     'Snapshot the queues, check thresholds and database health, raise alerts.'),
    -- SMS and voice pages draw from twilio-sms or twilio-voice, both in the twilio group.
    ('deliver-alert', 'maintenance', 10, 'alert-{alertId}-{channel}', NULL, 'twilio', 'twilio',
     'Page the on-call number about an alert by SMS or voice call.');
