-- Snapshot queue.overview into queue.queue_metrics (kept 30 days); returns
-- how many queues were captured.
CREATE OR REPLACE FUNCTION queue.capture_queue_metrics()
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
