-- 0030_pre_concurrency_key_indexes: a keyed claim reads its keys and batch, not the backlog.
-- migrate: no-transaction
--
-- Intent: queue.fetch_keyed_jobs claims round-robin between the concurrency
-- keys of a queue whose key_concurrency is set. Through this index it
-- (1) lists the distinct keys of the queue's waiting jobs, skipping from one
-- key to the next, (2) reads each key's first waiting jobs in claim order
-- (priority, then id), and (3) reads the queue's waiting jobs without a key
-- in claim order, as one more group. Each step reads about what it returns,
-- whatever the backlog of one key or of the queue. The key column is '' for
-- a job without a key (a key is 1 to 512 bytes, never ''): an equality, read
-- in order, where IS NULL would sort the whole group. Keys compare in byte
-- order ("C"): their order means nothing, and it is the cheapest.
-- Jobs without a key are in the index because step 3 needs them: through the
-- queue's claim index it would read past every waiting keyed job to find the
-- first one without a key. So a waiting job costs one more index entry (a
-- running or finished one none), the price of a claim that never reads the
-- backlog.
-- Running jobs per key are counted from the queue's running jobs
-- (procrastinate_jobs_queue_name_status_idx), not from an index of their own.
--
-- Lock impact: CREATE INDEX CONCURRENTLY takes no lock that blocks inserts or
-- updates of jobs; it reads the table twice.
-- Operator steps: none. If the build is interrupted it leaves an INVALID
-- index of this name: drop it (DROP INDEX CONCURRENTLY
-- procrastinate_jobs_key_claim_idx) and run migrate again.

CREATE INDEX CONCURRENTLY IF NOT EXISTS procrastinate_jobs_key_claim_idx
    ON procrastinate_jobs (
        queue_name,
        (coalesce(args -> 'meta' ->> 'concurrency_key', '') COLLATE "C"),
        priority DESC,
        id
    )
    WHERE status = 'todo';
