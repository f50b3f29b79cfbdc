-- Raise an alert unless the same one is cooling down; return its id, or NULL
-- when it is quiet. The cooldown row decides: two monitors racing on the same
-- alert raise it once (the second waits on the row, then finds it fresh).
CREATE OR REPLACE FUNCTION queue.raise_alert(
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
