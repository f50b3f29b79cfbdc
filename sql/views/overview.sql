-- Per queue: what waits, what runs, what finished in the last hour.
CREATE OR REPLACE VIEW queue.overview AS
SELECT
    q.name AS queue,
    q.tier,
    q.paused,
    coalesce(live.waiting, 0) AS waiting,
    coalesce(live.scheduled, 0) AS scheduled,
    coalesce(live.running, 0) AS running,
    coalesce(recent.failed_last_hour, 0) AS failed_last_hour,
    coalesce(recent.succeeded_last_hour, 0) AS succeeded_last_hour,
    now() - live.oldest_waiting_since AS oldest_waiting_age,
    q.concurrency,
    q.max_attempts,
    -- Held by their dependencies or their batch: no run time yet.
    coalesce(live.held, 0) AS held
FROM queue.queues AS q
LEFT JOIN LATERAL (
    SELECT
        count(*) FILTER (WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())) AS waiting,
        count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at > now()
                         AND j.scheduled_at <> 'infinity') AS scheduled,
        count(*) FILTER (WHERE j.status = 'todo' AND j.scheduled_at = 'infinity') AS held,
        count(*) FILTER (WHERE j.status = 'doing') AS running,
        -- A waiting job waits since its run time if it was scheduled or retried,
        -- else since it was enqueued (meta for jobs from queue.enqueue,
        -- procrastinate's 'deferred' event for jobs deferred directly).
        min(coalesce(
            j.scheduled_at,
            (j.args -> 'meta' ->> 'enqueued_at')::timestamptz,
            queue.job_deferred_at(j.id)
        )) FILTER (
            WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
        ) AS oldest_waiting_since
    FROM procrastinate_jobs AS j
    WHERE j.queue_name = q.name AND j.status IN ('todo', 'doing')
) AS live ON true
LEFT JOIN LATERAL (
    SELECT
        count(*) FILTER (WHERE o.status = 'failed') AS failed_last_hour,
        count(*) FILTER (WHERE o.status = 'succeeded') AS succeeded_last_hour
    FROM queue.job_outcomes AS o
    WHERE o.finished_at > now() - interval '1 hour' AND o.queue_name = q.name
) AS recent ON true;
COMMENT ON VIEW queue.overview IS
    'Per queue: waiting (due), scheduled (later), held (by dependencies or a batch), running, failed/succeeded in the last hour, age of the oldest waiting job, paused.';
GRANT SELECT ON queue.overview TO queue_reader;
