-- name: failure_groups :many
-- Failed jobs grouped by queue, job type and last error type, over the newest `bound` failed jobs: count, newest failure, a sample message.
-- The window is read per queue backwards on procrastinate_jobs_failed_idx
-- (queue_name, id) WHERE status = 'failed', index only, so it costs at most
-- `bound` entries per queue whatever the history holds; queue.queues names the
-- queues (every enqueue checks its queue is there), which the planner
-- estimates well, where a skip scan of the index would be guessed a hundred
-- queues (the service plans it without JIT: plan_without_jit). Each job of
-- the window is then looked up by its primary key (the LATERAL with OFFSET 0
-- keeps the planner from reading every failed job's row in a hash join
-- instead), and its last error and finish time come from the views' own rules
-- (queue.last_error, queue.job_finished_at: job_outcomes_job_id_idx).
WITH newest AS (
    SELECT n.queue_name, n.id
    FROM queue.queues AS q
    CROSS JOIN LATERAL (
        SELECT j.queue_name, j.id FROM procrastinate_jobs AS j
        WHERE j.status = 'failed' AND j.queue_name = q.name
        ORDER BY j.id DESC
        LIMIT %(bound)s
    ) AS n
    ORDER BY n.id DESC
    LIMIT %(bound)s
),
failed AS (
    SELECT n.queue_name, n.id, j.task_name,
           (SELECT e.error_type FROM queue.last_error(n.id) AS e) AS error_type,
           queue.job_finished_at(n.id) AS failed_at
    FROM newest AS n
    CROSS JOIN LATERAL (
        SELECT p.task_name FROM procrastinate_jobs AS p
        WHERE p.id = n.id AND p.status = 'failed'
        OFFSET 0
    ) AS j
),
groups AS (
    SELECT f.queue_name AS queue, f.task_name AS job_type, f.error_type,
           count(*) AS jobs, max(f.failed_at) AS newest_failed_at, max(f.id) AS newest_id
    FROM failed AS f
    GROUP BY f.queue_name, f.task_name, f.error_type
)
SELECT g.queue, g.job_type, g.error_type, g.jobs, g.newest_failed_at,
       extract(epoch FROM now() - g.newest_failed_at)::float8 AS newest_failed_age_s,
       g.newest_id, left(e.error_message, %(sample_chars)s) AS sample_message,
       (SELECT count(*) FROM newest) AS window_jobs
FROM groups AS g
LEFT JOIN LATERAL queue.last_error(g.newest_id) AS e ON true
ORDER BY g.jobs DESC, g.newest_id DESC;

-- name: retry_failure_group :one
-- Requeue with fresh attempts the failed jobs of one (queue, job type, last error type) group among the queue's newest `bound` failed jobs up to `upto`; returns how many matched and how many were requeued.
-- As queue.retry_job and queue.retry_failed_jobs requeue a job, in one
-- statement. The scan goes backwards on procrastinate_jobs_failed_idx from the
-- newest job the page showed, so a job that failed after the page was read is
-- left alone; each job scanned is then locked by its primary key (a LATERAL
-- with a locking clause is never flattened, so the planner cannot turn it into
-- a hash join over every failed job, each with its last error read). Jobs
-- another transaction holds are skipped, not waited for. A job whose queueing
-- lock a waiting job holds stays failed, and of failed jobs sharing a lock
-- only the newest is requeued: two waiting jobs may not hold one lock
-- (procrastinate_jobs_queueing_lock_idx_v1, which the check reads).
WITH scan AS (
    SELECT j.id FROM procrastinate_jobs AS j
    WHERE j.status = 'failed' AND j.queue_name = %(queue)s AND j.id <= %(upto)s
    ORDER BY j.id DESC
    LIMIT %(bound)s
),
matched AS (
    SELECT m.id, m.queueing_lock
    FROM scan
    CROSS JOIN LATERAL (
        SELECT j.id, j.queueing_lock FROM procrastinate_jobs AS j
        WHERE j.id = scan.id AND j.status = 'failed' AND j.task_name = %(job_type)s
          AND (SELECT e.error_type FROM queue.last_error(j.id) AS e)
              IS NOT DISTINCT FROM %(error_type)s::text
        FOR UPDATE OF j SKIP LOCKED
    ) AS m
),
free AS (
    SELECT DISTINCT ON (m.queueing_lock, CASE WHEN m.queueing_lock IS NULL THEN m.id END) m.id
    FROM matched AS m
    WHERE m.queueing_lock IS NULL OR NOT EXISTS (
        SELECT 1 FROM procrastinate_jobs AS w
        WHERE w.queueing_lock = m.queueing_lock AND w.status = 'todo'
    )
    ORDER BY m.queueing_lock, CASE WHEN m.queueing_lock IS NULL THEN m.id END, m.id DESC
),
requeued AS (
    UPDATE procrastinate_jobs AS j
    SET status = 'todo', attempts = 0, scheduled_at = NULL, abort_requested = false
    WHERE j.id = ANY (ARRAY(SELECT free.id FROM free))
    RETURNING j.id
)
SELECT (SELECT count(*) FROM matched) AS matched, (SELECT count(*) FROM requeued) AS requeued,
       ARRAY(SELECT requeued.id FROM requeued) AS requeued_ids;

-- name: discard_failure_group :one
-- Delete the failed jobs of one (queue, job type, last error type) group among the queue's newest `bound` failed jobs up to `upto`; returns how many.
-- What queue.clear_queue does to a queue's failed jobs, for one group: the
-- jobs go (their events with them, by the foreign key), their outcomes stay
-- for the charts until retention sweeps them, and their idempotency keys stay
-- until their TTL, so a duplicate is still recognised. The scan and the
-- per-job lookup are retry_failure_group's; the delete takes its rows by
-- primary key (= ANY of an array) and checks again that each is still failed.
WITH scan AS (
    SELECT j.id FROM procrastinate_jobs AS j
    WHERE j.status = 'failed' AND j.queue_name = %(queue)s AND j.id <= %(upto)s
    ORDER BY j.id DESC
    LIMIT %(bound)s
),
matched AS (
    SELECT m.id
    FROM scan
    CROSS JOIN LATERAL (
        SELECT j.id FROM procrastinate_jobs AS j
        WHERE j.id = scan.id AND j.status = 'failed' AND j.task_name = %(job_type)s
          AND (SELECT e.error_type FROM queue.last_error(j.id) AS e)
              IS NOT DISTINCT FROM %(error_type)s::text
        FOR UPDATE OF j SKIP LOCKED
    ) AS m
),
gone AS (
    DELETE FROM procrastinate_jobs AS j
    WHERE j.id = ANY (ARRAY(SELECT matched.id FROM matched)) AND j.status = 'failed'
    RETURNING j.id
)
SELECT count(*) FROM gone;

-- name: wake_queue_workers :exec
-- Wake a queue's workers (on commit) after jobs were requeued in it.
SELECT queue.wake_workers(%(queue)s);

-- name: hold_retried_jobs :exec
-- Hold requeued jobs again for their dependencies that are waiting or running
-- again (a statement after the requeue, which must see it).
SELECT queue.hold_retried_jobs(%(job_ids)s);

-- name: plan_without_jit :exec
-- Plan the rest of this transaction's statements without JIT.
-- The failure queries look up to `bound` jobs up one by one, which the
-- planner prices past jit_above_cost; compiling them would then take longer
-- (some 250 ms) than they run. SET LOCAL ends with the transaction.
SET LOCAL jit = off;

-- name: retrying_groups :many
-- Jobs that failed an attempt and wait for another, grouped by queue, job type and last error type, over the newest `bound`: count, newest, a sample message.
-- Waiting jobs are read backwards on procrastinate_jobs_id_lock_idx_v1 (id,
-- lock) WHERE status IN ('todo', 'doing'): the scan is bounded by the jobs
-- waiting and running, never the history. attempts > 0: it failed before.
WITH waiting AS (
    SELECT j.id, j.queue_name, j.task_name
    FROM procrastinate_jobs AS j
    WHERE j.status = 'todo' AND j.attempts > 0
    ORDER BY j.id DESC
    LIMIT %(bound)s
),
retrying AS (
    SELECT w.queue_name, w.task_name, w.id,
           (SELECT e.error_type FROM queue.last_error(w.id) AS e) AS error_type
    FROM waiting AS w
),
groups AS (
    SELECT r.queue_name AS queue, r.task_name AS job_type, r.error_type,
           count(*) AS jobs, max(r.id) AS newest_id
    FROM retrying AS r
    GROUP BY r.queue_name, r.task_name, r.error_type
)
SELECT g.queue, g.job_type, g.error_type, g.jobs, g.newest_id,
       left(e.error_message, %(sample_chars)s) AS sample_message,
       (SELECT count(*) FROM waiting) AS window_jobs
FROM groups AS g
LEFT JOIN LATERAL queue.last_error(g.newest_id) AS e ON true
ORDER BY g.jobs DESC, g.newest_id DESC;

-- name: cancel_retrying_group :one
-- Cancel the jobs of one (queue, job type, last error type) group that wait for another attempt, up to job `upto` and at most `bound`; returns how many.
-- Each through queue.cancel_job, as the API cancels one job (a 'cancelled'
-- outcome is written); jobs another transaction holds (a worker claiming
-- them) are skipped, not waited for, and one claimed meanwhile is no longer
-- waiting, so it is left alone.
WITH matched AS (
    SELECT j.id
    FROM procrastinate_jobs AS j
    WHERE j.status = 'todo' AND j.attempts > 0 AND j.queue_name = %(queue)s
      AND j.task_name = %(job_type)s AND j.id <= %(upto)s
      AND (SELECT e.error_type FROM queue.last_error(j.id) AS e)
          IS NOT DISTINCT FROM %(error_type)s::text
    ORDER BY j.id DESC
    LIMIT %(bound)s
    FOR UPDATE OF j SKIP LOCKED
)
SELECT count(queue.cancel_job(m.id)) FROM matched AS m;
