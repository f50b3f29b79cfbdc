-- Record how a channel delivered an alert.
CREATE OR REPLACE FUNCTION queue.record_alert_channel(alert_id bigint, channel text, result text)
    RETURNS void
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    UPDATE queue.alert_history AS a
    SET channels = a.channels || jsonb_build_object(channel, result)
    WHERE a.id = alert_id;
END;
REVOKE ALL ON FUNCTION queue.record_alert_channel(bigint, text, text) FROM PUBLIC;
