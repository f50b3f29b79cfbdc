-- psql: alerts nobody acknowledged yet, newest first (alerts are kept 7 days).
CREATE OR REPLACE VIEW queue.open_alerts AS
SELECT a.id, a.severity, a.type, a.queue_name, a.value, a.threshold, a.message,
       a.channels, a.created_at
FROM queue.alert_history AS a
WHERE a.acknowledged_at IS NULL
ORDER BY a.created_at DESC, a.id DESC;
GRANT SELECT ON queue.open_alerts TO queue_reader;
