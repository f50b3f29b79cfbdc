-- Park the waiting jobs behind a breaker that just opened: each job of the
-- breaker's provider (and, for webhooks, of its subscriber host) that would
-- come due before its turn is scheduled from `from_at`, the breaker's
-- half-open time, one after another at the provider's rate with jitter. The
-- first becomes the probe; if it succeeds the rest follow at the rate the
-- provider takes, and if it fails the breaker opens again and parks them
-- again. Nothing runs, and no outcome is written, to be turned away. A job
-- already scheduled later keeps its time. Costs one statement per opening,
-- in proportion to the jobs waiting in the breaker's queues. Returns how many
-- jobs it parked.
CREATE OR REPLACE FUNCTION queue.hold_breaker_jobs(breaker text, from_at timestamptz)
    RETURNS bigint
    LANGUAGE sql VOLATILE
BEGIN ATOMIC
    WITH waiting AS (
        SELECT j.id,
               -- The slower of the bucket and its group sets the pace.
               least(coalesce(r.rate_per_s, 1), coalesce(g.rate_per_s, r.rate_per_s, 1)) AS rate_per_s,
               row_number() OVER (ORDER BY j.priority DESC, j.id) AS place
        FROM queue.job_types AS t
        JOIN procrastinate_jobs AS j
            ON j.queue_name = t.queue AND j.task_name = t.name AND j.status = 'todo'
            -- A held job waits for its dependencies, not for the provider.
            AND j.scheduled_at IS DISTINCT FROM 'infinity'
        LEFT JOIN queue.rate_limits AS r ON r.name = t.bucket
        LEFT JOIN queue.rate_limits AS g ON g.name = r.group_name
        WHERE t.provider = split_part(hold_breaker_jobs.breaker, ':', 1)
          AND queue.breaker_name(t.provider, j.args -> 'data' ->> 'url') = hold_breaker_jobs.breaker
    ),
    parked AS (
        UPDATE procrastinate_jobs AS j
        SET scheduled_at = greatest(
            j.scheduled_at,
            hold_breaker_jobs.from_at + make_interval(secs => (w.place - 1 + random()) / w.rate_per_s))
        FROM waiting AS w
        WHERE j.id = w.id
        RETURNING 1
    )
    SELECT count(*) FROM parked;
END;
REVOKE ALL ON FUNCTION queue.hold_breaker_jobs(text, timestamptz) FROM PUBLIC;
