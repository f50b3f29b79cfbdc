-- 0011_pre_claim_index: the claim reads a queue's waiting jobs in claim order.
-- migrate: no-transaction
--
-- Intent: queue.fetch_jobs takes the first due jobs of one queue by priority,
-- then id. procrastinate's own index orders waiting jobs of every queue; with
-- the queue first, a claim reads only its queue's rows, in order, and stops at
-- its batch, whatever the backlog of this or other queues.
--
-- Lock impact: CREATE INDEX CONCURRENTLY takes no lock that blocks inserts or
-- updates of jobs; it reads the table twice.
-- Operator steps: none. If the build is interrupted it leaves an INVALID
-- index of this name: drop it (DROP INDEX CONCURRENTLY
-- procrastinate_jobs_claim_idx) and run migrate again.

CREATE INDEX CONCURRENTLY IF NOT EXISTS procrastinate_jobs_claim_idx
    ON procrastinate_jobs (queue_name, priority DESC, id)
    WHERE status = 'todo';
