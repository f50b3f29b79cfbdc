-- name: list_schedules :many
-- Every schedule, in name order.
SELECT name, cron, queue, job_type, data, priority, active, last_run_at, last_job_id,
       last_error, next_run_at, created_at, updated_at
FROM queue.schedules
ORDER BY name;

-- name: list_schedule_status :many
-- Every schedule as queue.schedule_status shows it, with the state of its last run's job (NULL once retention deleted it), in name order.
-- The job by its primary key, once per schedule; schedules are few, written by operators.
SELECT s.name, s.cron, s.queue, s.job_type, s.active, s.priority, s.next_run_at,
       s.next_run_in_s, s.last_run_at, s.last_job_id, s.last_error,
       j.status::text AS last_job_state
FROM queue.schedule_status AS s
LEFT JOIN procrastinate_jobs AS j ON j.id = s.last_job_id
ORDER BY s.name;

-- name: get_schedule :one
-- One schedule by name.
SELECT name, cron, queue, job_type, data, priority, active, last_run_at, last_job_id,
       last_error, next_run_at, created_at, updated_at
FROM queue.schedules
WHERE name = %(name)s;

-- name: lock_schedule :one
-- One schedule by name, locked for an edit in this transaction (the task's
-- SKIP LOCKED claim passes it by meanwhile).
SELECT name, cron, queue, job_type, data, priority, active, last_run_at, last_job_id,
       last_error, next_run_at, created_at, updated_at
FROM queue.schedules
WHERE name = %(name)s
FOR UPDATE;

-- name: find_schedule_target :one
-- The canonical name of a queue (NULL when unknown) and the queue of a job type
-- (NULL when unknown), to check a schedule's queue and type before writing it.
SELECT (SELECT q.name FROM queue.queues AS q
        WHERE q.name = queue.canonical_queue_name(%(queue)s::text)) AS queue,
       (SELECT t.queue FROM queue.job_types AS t
        WHERE t.name = %(job_type)s::text) AS job_type_queue;

-- name: insert_schedule :one
-- Add a schedule; no row comes back when the name is taken.
INSERT INTO queue.schedules (name, cron, queue, job_type, data, priority, active, next_run_at)
VALUES (%(name)s, %(cron)s, %(queue)s, %(job_type)s, %(data)s, %(priority)s, %(active)s,
        %(next_run_at)s)
ON CONFLICT (name) DO NOTHING
RETURNING name, cron, queue, job_type, data, priority, active, last_run_at, last_job_id,
          last_error, next_run_at, created_at, updated_at;

-- name: update_schedule :one
-- Replace a schedule's definition and next run (the service merged the change).
UPDATE queue.schedules SET
    cron = %(cron)s,
    queue = %(queue)s,
    job_type = %(job_type)s,
    data = %(data)s,
    priority = %(priority)s,
    active = %(active)s,
    next_run_at = %(next_run_at)s
WHERE name = %(name)s
RETURNING name, cron, queue, job_type, data, priority, active, last_run_at, last_job_id,
          last_error, next_run_at, created_at, updated_at;

-- name: delete_schedule :one
-- Remove a schedule; returns it, or no row when there was none.
DELETE FROM queue.schedules
WHERE name = %(name)s
RETURNING name, cron, queue, job_type, data, priority, active, last_run_at, last_job_id,
          last_error, next_run_at, created_at, updated_at;

-- name: claim_due_schedule :one
-- Lock one active schedule that is due (or has no next run yet) for this
-- transaction, skipping rows another process holds, with the database's now.
-- A row another transaction advanced meanwhile is re-checked against the WHERE
-- clause after its lock, so a run is never claimed twice.
SELECT name, cron, queue, job_type, data, priority, next_run_at, updated_at,
       now() AS now
FROM queue.schedules
WHERE active AND (next_run_at IS NULL OR next_run_at <= now())
ORDER BY next_run_at NULLS FIRST, name
LIMIT 1
FOR UPDATE SKIP LOCKED;

-- name: advance_schedule :exec
-- Set a claimed schedule's next run; with a run time, also record the run:
-- the job it enqueued, or the error that kept it from being enqueued.
UPDATE queue.schedules SET
    next_run_at = %(next_run_at)s,
    last_run_at = coalesce(%(run_at)s::timestamptz, last_run_at),
    last_job_id = CASE WHEN %(run_at)s::timestamptz IS NULL THEN last_job_id
                       ELSE %(job_id)s::bigint END,
    last_error = CASE WHEN %(run_at)s::timestamptz IS NULL THEN last_error
                      ELSE %(error)s::text END
WHERE name = %(name)s;

-- name: disable_schedule :exec
-- Turn off a schedule the task cannot run (its stored cron is invalid), saying why.
UPDATE queue.schedules SET active = false, last_error = %(error)s
WHERE name = %(name)s;
