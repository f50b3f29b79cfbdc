-- name: queue_health :many
-- Each queue now with its thresholds, alert severity and live workers.
SELECT queue_name, paused, alert_severity, waiting, scheduled, running, failed_last_hour,
       oldest_waiting_age_s, alert_max_waiting, alert_max_oldest_age_s,
       alert_max_failed_per_hour, workers_alive
FROM queue.queue_health(%(stalled_after_s)s);

-- name: database_health :one
-- Dead tuples and last vacuum of the hot table, the oldest open transaction, stalled jobs.
SELECT dead_tuples, live_tuples, last_vacuum_age_s, oldest_transaction_age_s, stalled_jobs
FROM queue.database_health(%(stalled_after_s)s);

-- name: scrape_health :many
-- One read per Prometheus scrape: each queue now, its kept dead letters, and the database's health.
SELECT h.queue_name, h.paused, h.waiting, h.scheduled, h.running, h.oldest_waiting_age_s,
       h.workers_alive,
       -- Index-only on procrastinate_jobs_failed_idx: its cost grows with the dead
       -- letters retention keeps (keep_failed), not with the jobs that succeeded.
       (SELECT count(*) FROM procrastinate_jobs AS j
        WHERE j.queue_name = h.queue_name AND j.status = 'failed') AS failed_jobs,
       d.dead_tuples, d.last_vacuum_age_s, d.oldest_transaction_age_s, d.stalled_jobs
FROM queue.queue_health(%(stalled_after_s)s) AS h
-- queue.queues is never empty (migrations seed it, job types reference it), so
-- the database's one row always comes back, repeated on each queue's row.
CROSS JOIN queue.database_health(%(stalled_after_s)s) AS d
ORDER BY h.queue_name;

-- name: capture_queue_metrics :one
-- Snapshot every queue into queue.queue_metrics; returns how many.
SELECT queue.capture_queue_metrics();

-- name: raise_alert :one
-- Raise an alert unless the same (queue, type, severity) is cooling down; its id or NULL.
SELECT queue.raise_alert(
    %(severity)s, %(type)s, %(queue_name)s, %(value)s, %(threshold)s, %(message)s, %(channels)s
);

-- name: record_alert_channel :exec
-- Record how a channel delivered an alert.
SELECT queue.record_alert_channel(%(alert_id)s, %(channel)s, %(result)s);

-- name: get_alert :one
-- One alert.
SELECT id, severity, type, queue_name, value, threshold, message, channels, created_at,
       acknowledged_by, acknowledged_at
FROM queue.alert_history
WHERE id = %(alert_id)s;

-- name: configure_queue_thresholds :one
-- Apply a deployment's override of a queue's alert thresholds (unset ones keep their value).
UPDATE queue.queues
SET alert_max_waiting = coalesce(%(max_waiting)s, alert_max_waiting),
    alert_max_oldest_age = coalesce(make_interval(secs => %(max_oldest_age_s)s), alert_max_oldest_age),
    alert_max_failed_per_hour = coalesce(%(max_failed_per_hour)s, alert_max_failed_per_hour)
WHERE name = %(queue_name)s
RETURNING name;
