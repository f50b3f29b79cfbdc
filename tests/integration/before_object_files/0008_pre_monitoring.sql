-- 0008_pre_monitoring: what the monitor reads, and how alerts page once.
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

-- Raise an alert unless the same one is cooling down; return its id, or NULL
-- when it is quiet. The cooldown row decides: two monitors racing on the same
-- alert raise it once (the second waits on the row, then finds it fresh).
CREATE FUNCTION queue.raise_alert(
    severity text,
    type text,
    queue_name text,
    value double precision,
    threshold double precision,
    message text,
    channels jsonb
)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    raised bigint;
BEGIN
    INSERT INTO queue.alert_cooldowns AS c (queue_name, type, severity, last_raised_at)
    VALUES (coalesce(raise_alert.queue_name, ''), raise_alert.type, raise_alert.severity, now())
    ON CONFLICT ON CONSTRAINT alert_cooldowns_pkey DO UPDATE
    SET last_raised_at = now()
    WHERE c.last_raised_at <= now() - (
        SELECT s.cooldown FROM queue.alert_severities AS s WHERE s.severity = c.severity
    )
    RETURNING 1 INTO raised;
    IF raised IS NULL THEN
        RETURN NULL;
    END IF;
    INSERT INTO queue.alert_history (severity, type, queue_name, value, threshold, message, channels)
    VALUES (raise_alert.severity, raise_alert.type, raise_alert.queue_name, raise_alert.value,
            raise_alert.threshold, raise_alert.message, coalesce(raise_alert.channels, '{}'))
    RETURNING id INTO raised;
    RETURN raised;
END;
$$;
REVOKE ALL ON FUNCTION queue.raise_alert(text, text, text, double precision, double precision, text, jsonb) FROM PUBLIC;

-- Record how a channel delivered an alert.
CREATE FUNCTION queue.record_alert_channel(alert_id bigint, channel text, result text)
    RETURNS void
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    UPDATE queue.alert_history AS a
    SET channels = a.channels || jsonb_build_object(channel, result)
    WHERE a.id = alert_id;
END;
REVOKE ALL ON FUNCTION queue.record_alert_channel(bigint, text, text) FROM PUBLIC;

-- Each queue now, beside its thresholds, its alert severity and the workers
-- with a fresh heartbeat that serve it: what the monitor checks and the API's
-- /metrics reports.
CREATE FUNCTION queue.queue_health(stalled_after_s double precision)
    RETURNS TABLE (
        queue_name text,
        paused boolean,
        alert_severity text,
        waiting bigint,
        scheduled bigint,
        running bigint,
        failed_last_hour bigint,
        oldest_waiting_age_s double precision,
        alert_max_waiting integer,
        alert_max_oldest_age_s double precision,
        alert_max_failed_per_hour integer,
        workers_alive bigint
    )
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT o.queue, o.paused, q.alert_severity, o.waiting, o.scheduled, o.running,
           o.failed_last_hour, extract(epoch FROM o.oldest_waiting_age), q.alert_max_waiting,
           extract(epoch FROM q.alert_max_oldest_age), q.alert_max_failed_per_hour,
           (SELECT count(*) FROM queue.worker_queues AS wq
            JOIN procrastinate_workers AS w ON w.id = wq.worker_id
            WHERE wq.queue_name = o.queue
              AND w.last_heartbeat > now() - make_interval(secs => stalled_after_s))
    FROM queue.overview AS o
    JOIN queue.queues AS q ON q.name = o.queue
    ORDER BY o.queue;
END;
REVOKE ALL ON FUNCTION queue.queue_health(double precision) FROM PUBLIC;

-- Snapshot queue.overview into queue.queue_metrics (kept 30 days); returns
-- how many queues were captured.
CREATE FUNCTION queue.capture_queue_metrics()
    RETURNS bigint
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH captured AS (
        INSERT INTO queue.queue_metrics (
            queue_name, waiting, scheduled, running, succeeded_last_hour, failed_last_hour,
            oldest_waiting_age_s
        )
        SELECT o.queue, o.waiting, o.scheduled, o.running, o.succeeded_last_hour,
               o.failed_last_hour, extract(epoch FROM o.oldest_waiting_age)
        FROM queue.overview AS o
        RETURNING 1
    )
    SELECT count(*) FROM captured;
END;
REVOKE ALL ON FUNCTION queue.capture_queue_metrics() FROM PUBLIC;

-- The database's health as the queue sees it: dead tuples and last vacuum of
-- the hot table, the oldest open transaction of this database (it holds back
-- vacuum) and running jobs whose worker stopped heartbeating.
CREATE FUNCTION queue.database_health(stalled_after_s double precision)
    RETURNS TABLE (
        dead_tuples bigint,
        live_tuples bigint,
        last_vacuum_age_s double precision,
        oldest_transaction_age_s double precision,
        stalled_jobs bigint
    )
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT coalesce(s.n_dead_tup, 0),
           coalesce(s.n_live_tup, 0),
           extract(epoch FROM now() - greatest(s.last_autovacuum, s.last_vacuum)),
           (SELECT extract(epoch FROM max(now() - a.xact_start))
            FROM pg_stat_activity AS a
            WHERE a.datname = current_database()
              AND a.xact_start IS NOT NULL
              AND a.pid <> pg_backend_pid()
              AND a.backend_type = 'client backend'),
           (SELECT count(*) FROM procrastinate_jobs AS j
            LEFT JOIN procrastinate_workers AS w ON w.id = j.worker_id
            WHERE j.status = 'doing'
              AND (w.id IS NULL
                   OR w.last_heartbeat < now() - make_interval(secs => stalled_after_s)))
    FROM (SELECT 'procrastinate_jobs'::regclass AS relid) AS hot
    LEFT JOIN pg_stat_user_tables AS s ON s.relid = hot.relid;
END;
REVOKE ALL ON FUNCTION queue.database_health(double precision) FROM PUBLIC;

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

-- Roll up the complete hours not rolled yet (an hour is complete five
-- minutes after it ends, when late outcomes are in), at most max_hours of
-- them, oldest first; the first run starts at the oldest data of the last 31
-- days. Returns how many hours were rolled. Two monitors never roll the same
-- hour: the advisory lock makes the second wait, then find it done.
CREATE FUNCTION queue.roll_up_hours(max_hours integer DEFAULT 48)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    next_hour timestamptz;
    last_complete timestamptz := date_trunc('hour', now() - interval '5 minutes') - interval '1 hour';
    rolled integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('queue.roll_up_hours'));
    SELECT max(r.hour) + interval '1 hour' INTO next_hour FROM queue.rolled_up_hours AS r;
    IF next_hour IS NULL THEN
        SELECT date_trunc('hour', least(
                   (SELECT min(o.finished_at) FROM queue.job_outcomes AS o
                    WHERE o.finished_at >= now() - interval '31 days'),
                   (SELECT min(m.captured_at) FROM queue.queue_metrics AS m
                    WHERE m.captured_at >= now() - interval '31 days'),
                   now()))
        INTO next_hour;
    END IF;
    WHILE next_hour <= last_complete AND rolled < max_hours LOOP
        INSERT INTO queue.outcome_hours (hour, queue_name, job_type, status, attempts)
        SELECT next_hour, o.queue_name, o.job_type, o.status, count(*)
        FROM queue.job_outcomes AS o
        WHERE o.finished_at >= next_hour AND o.finished_at < next_hour + interval '1 hour'
        GROUP BY 2, 3, 4;
        INSERT INTO queue.error_hours (hour, error_type, message, occurrences)
        SELECT next_hour, coalesce(o.error_type, ''), left(coalesce(o.error_message, ''), 300), count(*)
        FROM queue.job_outcomes AS o
        WHERE o.finished_at >= next_hour AND o.finished_at < next_hour + interval '1 hour'
          AND o.status IN ('failed', 'retried')
        GROUP BY 2, 3;
        INSERT INTO queue.queue_metric_hours (
            hour, queue_name, waiting, running, oldest_waiting_age_s, failed_last_hour
        )
        SELECT next_hour, m.queue_name, max(m.waiting), max(m.running),
               max(m.oldest_waiting_age_s), max(m.failed_last_hour)
        FROM queue.queue_metrics AS m
        WHERE m.captured_at >= next_hour AND m.captured_at < next_hour + interval '1 hour'
        GROUP BY 2;
        INSERT INTO queue.rolled_up_hours (hour) VALUES (next_hour);
        next_hour := next_hour + interval '1 hour';
        rolled := rolled + 1;
    END LOOP;
    RETURN rolled;
END;
$$;
REVOKE ALL ON FUNCTION queue.roll_up_hours(integer) FROM PUBLIC;

-- The rolled hours inside a window starting at since: [first_hour, end_time),
-- or NULLs when none is. Outside it, reports read the raw tables.
CREATE FUNCTION queue.rolled_window(since timestamptz)
    RETURNS TABLE (first_hour timestamptz, end_time timestamptz)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT min(r.hour), max(r.hour) + interval '1 hour'
    FROM queue.rolled_up_hours AS r
    WHERE r.hour >= since;
END;

-- Rollups are kept 30 days, like the snapshots.
CREATE FUNCTION queue.forget_rollups(older_than interval DEFAULT '30 days')
    RETURNS bigint
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH cut AS (SELECT date_trunc('hour', now() - older_than) AS hour),
    o AS (DELETE FROM queue.outcome_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1),
    e AS (DELETE FROM queue.error_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1),
    m AS (DELETE FROM queue.queue_metric_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1),
    r AS (DELETE FROM queue.rolled_up_hours AS h USING cut WHERE h.hour < cut.hour RETURNING 1)
    SELECT (SELECT count(*) FROM o) + (SELECT count(*) FROM e) + (SELECT count(*) FROM m)
         + (SELECT count(*) FROM r);
END;
REVOKE ALL ON FUNCTION queue.forget_rollups(interval) FROM PUBLIC;

-- psql: alerts nobody acknowledged yet, newest first (alerts are kept 7 days).
CREATE VIEW queue.open_alerts AS
SELECT a.id, a.severity, a.type, a.queue_name, a.value, a.threshold, a.message,
       a.channels, a.created_at
FROM queue.alert_history AS a
WHERE a.acknowledged_at IS NULL
ORDER BY a.created_at DESC, a.id DESC;
GRANT SELECT ON queue.open_alerts TO queue_reader;

-- The monitor and alert delivery run on the maintenance queue, like rescue.
INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, bucket, description) VALUES
    ('monitor', 'maintenance', 9, NULL, NULL, NULL, NULL,
     'Snapshot the queues, check thresholds and database health, raise alerts.'),
    -- SMS and voice pages draw from twilio-sms or twilio-voice, both in the twilio group.
    ('deliver-alert', 'maintenance', 10, 'alert-{alertId}-{channel}', NULL, 'twilio', 'twilio',
     'Page the on-call number about an alert by SMS or voice call.');
