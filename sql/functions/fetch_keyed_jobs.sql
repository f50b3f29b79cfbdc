-- Claim up to max_jobs due jobs of a queue whose key_concurrency is set (the
-- caller, queue.fetch_jobs, has checked that the queue is not paused): at
-- most key_concurrency running jobs per concurrency key
-- (args -> 'meta' ->> 'concurrency_key'), counting claimed jobs not yet
-- started, across every worker. Jobs without a key are one more group,
-- without a limit. The batch goes round-robin between the groups: each one's
-- first claimable job before any one's second, then by priority and id, so
-- one key's burst never starves the other keys. The lock rule, the due time
-- and SKIP LOCKED are queue.fetch_jobs's. plpgsql for its reason too: plans
-- cached per session, where a SQL function plans its statements every call.
-- And the generic plan, always: left to choose, the plan cache keeps making
-- a custom plan of the claim at every call (~2 ms, more than running it),
-- while the generic one reads the same indexes in the same order.
CREATE OR REPLACE FUNCTION queue.fetch_keyed_jobs(
    queue_name text,
    worker_id bigint,
    max_jobs integer,
    key_concurrency integer
)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql VOLATILE
    SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    -- One keyed claim of a queue at a time, across processes: a claim counts
    -- the running jobs of each key, which a concurrent claim would not see
    -- until it commits. A statement of its own, so that the claim below
    -- takes its snapshot once the lock is held, and sees what the previous
    -- claim committed. Held to the end of the caller's transaction: the
    -- worker claims in autocommit, one statement.
    PERFORM pg_advisory_xact_lock(hashtext('queue.fetch_keyed_jobs'), hashtext(fetch_keyed_jobs.queue_name));
    -- Each step reads a range about the size of what it returns: the cost
    -- follows the batch, the number of waiting keys and the running jobs,
    -- never the waiting backlog.
    RETURN QUERY
    WITH RECURSIVE waiting_keys AS (
        -- The distinct keys of the queue's waiting jobs, one descent of
        -- procrastinate_jobs_key_claim_idx (0030) each: from a key to the
        -- first entry of the next. '' (first) is the jobs without a key.
        (SELECT (coalesce(jobs.args -> 'meta' ->> 'concurrency_key', '') COLLATE "C") AS key
         FROM procrastinate_jobs AS jobs
         WHERE jobs.queue_name = fetch_keyed_jobs.queue_name
           AND (coalesce(jobs.args -> 'meta' ->> 'concurrency_key', '') COLLATE "C") >= ''
           AND jobs.status = 'todo'
         ORDER BY 1
         LIMIT 1)
        UNION ALL
        SELECT (SELECT (coalesce(jobs.args -> 'meta' ->> 'concurrency_key', '') COLLATE "C")
                FROM procrastinate_jobs AS jobs
                WHERE jobs.queue_name = fetch_keyed_jobs.queue_name
                  AND (coalesce(jobs.args -> 'meta' ->> 'concurrency_key', '') COLLATE "C") > w.key
                  AND jobs.status = 'todo'
                ORDER BY 1
                LIMIT 1)
        FROM waiting_keys AS w
        WHERE w.key IS NOT NULL
    ),
    running AS (
        -- Running jobs per key, from the queue's running jobs
        -- (procrastinate_jobs_queue_name_status_idx): the limit bounds each
        -- key's, the workers' claims those without a key.
        SELECT (jobs.args -> 'meta' ->> 'concurrency_key') COLLATE "C" AS key, count(*) AS doing
        FROM procrastinate_jobs AS jobs
        WHERE jobs.queue_name = fetch_keyed_jobs.queue_name
          AND jobs.status = 'doing'
          AND (jobs.args -> 'meta' ->> 'concurrency_key') IS NOT NULL
        GROUP BY 1
    ),
    candidates AS (
        SELECT c.id, c.priority,
               row_number() OVER (PARTITION BY w.key ORDER BY c.priority DESC, c.id) AS turn
        FROM waiting_keys AS w
        LEFT JOIN running AS r ON r.key = w.key
        CROSS JOIN LATERAL (
            SELECT jobs.id, jobs.priority
            FROM procrastinate_jobs AS jobs
            WHERE jobs.queue_name = fetch_keyed_jobs.queue_name
              AND (coalesce(jobs.args -> 'meta' ->> 'concurrency_key', '') COLLATE "C") = w.key
              AND jobs.status = 'todo'
              AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
              -- queue.fetch_jobs's lock rule, word for word.
              AND (jobs.lock IS NULL OR NOT EXISTS (
                  SELECT 1 FROM procrastinate_jobs AS other
                  WHERE other.lock = jobs.lock
                    AND other.status IN ('todo', 'doing')
                    AND (other.status = 'doing'
                         OR other.priority > jobs.priority
                         OR (other.priority = jobs.priority AND other.id < jobs.id))
              ))
            ORDER BY jobs.priority DESC, jobs.id
            -- Jobs without a key have no limit. A limit lowered below what
            -- runs leaves no room, never a negative one.
            LIMIT CASE WHEN w.key = '' THEN fetch_keyed_jobs.max_jobs
                       ELSE greatest(0, least(
                           fetch_keyed_jobs.key_concurrency - coalesce(r.doing, 0),
                           fetch_keyed_jobs.max_jobs)) END
        ) AS c
        WHERE w.key IS NOT NULL
    ),
    chosen AS (
        SELECT candidates.id
        FROM candidates
        ORDER BY candidates.turn, candidates.priority DESC, candidates.id
        LIMIT fetch_keyed_jobs.max_jobs
    ),
    locked AS (
        -- Only the chosen rows are locked, not every candidate. A row another
        -- transaction holds (a cancel) is skipped, and the batch is one short.
        -- Arrays of ids, so that both steps are lookups by primary key
        -- whatever the planner thinks of the table's size.
        SELECT jobs.id
        FROM procrastinate_jobs AS jobs
        WHERE jobs.id = ANY (ARRAY(SELECT chosen.id FROM chosen))
          AND jobs.status = 'todo'
        FOR UPDATE OF jobs SKIP LOCKED
    )
    UPDATE procrastinate_jobs AS j
    SET status = 'doing', worker_id = fetch_keyed_jobs.worker_id
    WHERE j.id = ANY (ARRAY(SELECT locked.id FROM locked))
    RETURNING j.*;
END;
$$;
REVOKE ALL ON FUNCTION queue.fetch_keyed_jobs(text, bigint, integer, integer) FROM PUBLIC;
