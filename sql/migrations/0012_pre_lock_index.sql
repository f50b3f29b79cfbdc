-- 0012_pre_lock_index: a claim checks a job's serial lock by the lock.
-- migrate: no-transaction
--
-- Intent: queue.fetch_jobs skips a job whose lock a running job, or an earlier
-- waiting one, holds. procrastinate indexes locks of running jobs only (and
-- (id, lock) for waiting ones, which a lookup by lock cannot use), so the check
-- was a hash join over every job. This index answers it per candidate.
--
-- Lock impact: CREATE INDEX CONCURRENTLY: no lock that blocks writes.
-- Operator steps: none. If the build is interrupted it leaves an INVALID
-- index of this name: drop it (DROP INDEX CONCURRENTLY
-- procrastinate_jobs_lock_claim_idx) and run migrate again.

CREATE INDEX CONCURRENTLY IF NOT EXISTS procrastinate_jobs_lock_claim_idx
    ON procrastinate_jobs (lock, priority DESC, id)
    WHERE status IN ('todo', 'doing') AND lock IS NOT NULL;
