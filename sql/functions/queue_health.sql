-- Each queue now, beside its thresholds, its alert severity and the workers
-- with a fresh heartbeat that serve it: what the monitor checks and the API's
-- /metrics reports.
CREATE OR REPLACE FUNCTION queue.queue_health(stalled_after_s double precision)
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
