-- 0017_pre_execution_timeouts: no attempt runs forever.
--
-- Intent: an attempt that runs past its execution timeout is stopped by its
-- worker, its slot freed, and the job retried or failed by its queue's policy.
-- The timeout is the job type's when set, else its queue's. Seeds: each queue's
-- above the longest legitimate attempt of its types (a provider call is
-- bounded by PROVIDER_CONNECT_TIMEOUT_S 5 + PROVIDER_TIMEOUT_S 20, a payment
-- makes two, and waits for its rate limit); nft-mint keeps the 120 s the old
-- service gave ticket.mint. The old service's other per-type figures (15 to
-- 60 s) were lock renewal intervals, not limits, and are below what a
-- provider call may legitimately take.
--
-- Lock impact: ADD COLUMN with a constant default is a catalog change (no
-- rewrite); ACCESS EXCLUSIVE on queue.queues and queue.job_types for a moment.
-- Operator steps: none; change a timeout with PATCH /queues/:name/config
-- (executionTimeoutS) or UPDATE queue.job_types SET execution_timeout = ...

ALTER TABLE queue.queues
    ADD COLUMN execution_timeout interval NOT NULL DEFAULT '10 minutes',
    ADD CONSTRAINT queues_execution_timeout_check
        CHECK (execution_timeout >= '1 second' AND execution_timeout <= '1 day');
COMMENT ON COLUMN queue.queues.execution_timeout IS
    'How long an attempt of this queue''s jobs may run before its worker stops it (job types may set their own).';
UPDATE queue.queues
SET execution_timeout = CASE name
        WHEN 'money' THEN interval '5 minutes'
        WHEN 'communication' THEN interval '2 minutes'
        WHEN 'background' THEN interval '30 minutes'
        WHEN 'maintenance' THEN interval '30 minutes'
        ELSE execution_timeout
    END;

ALTER TABLE queue.job_types
    ADD COLUMN execution_timeout interval,
    ADD CONSTRAINT job_types_execution_timeout_check
        CHECK (execution_timeout >= '1 second' AND execution_timeout <= '1 day');
COMMENT ON COLUMN queue.job_types.execution_timeout IS
    'This type''s execution timeout; NULL: its queue''s. Kept across migrate.';
UPDATE queue.job_types SET execution_timeout = '120 seconds' WHERE name = 'nft-mint';
