-- Roll up the complete hours not rolled yet (an hour is complete five
-- minutes after it ends, when late outcomes are in), at most max_hours of
-- them, oldest first; the first run starts at the oldest data of the last 31
-- days. Returns how many hours were rolled. Two monitors never roll the same
-- hour: the advisory lock makes the second wait, then find it done.
CREATE OR REPLACE FUNCTION queue.roll_up_hours(max_hours integer DEFAULT 48)
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
