-- psql: each schedule with how long until its next run (data left out: it may
-- carry personal data).
CREATE OR REPLACE VIEW queue.schedule_status AS
SELECT s.name, s.cron, s.queue, s.job_type, s.active, s.priority, s.last_run_at,
       s.last_job_id, s.last_error, s.next_run_at,
       -- NULL while there is no next run (greatest() would make it 0).
       CASE WHEN s.next_run_at IS NOT NULL
            THEN greatest(0, extract(epoch FROM s.next_run_at - now()))::float8
       END AS next_run_in_s,
       s.updated_at
FROM queue.schedules AS s;
GRANT SELECT ON queue.schedule_status TO queue_reader;
