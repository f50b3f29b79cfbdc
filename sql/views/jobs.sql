-- One row per job, with what an operator asks first.
CREATE OR REPLACE VIEW queue.jobs AS
SELECT
    j.id,
    j.queue_name AS queue,
    j.task_name AS job_type,
    j.status::text AS state,
    j.priority,
    j.attempts,
    coalesce(CASE WHEN j.args -> 'meta' ->> 'max_attempts' ~ '^[0-9]{1,3}$'
                  THEN (j.args -> 'meta' ->> 'max_attempts')::integer END,
             q.max_attempts) AS max_attempts,
    (j.args -> 'meta' ->> 'enqueued_at')::timestamptz AS enqueued_at,
    -- A held job (waiting for its dependencies or its batch) is stored with
    -- scheduled_at 'infinity', which no claim takes; it shows as held, with
    -- no run time yet.
    nullif(j.scheduled_at, 'infinity') AS scheduled_at,
    queue.job_started_at(j.id) AS started_at,
    CASE WHEN j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
        THEN queue.job_finished_at(j.id)
    END AS finished_at,
    last_outcome.error_type AS last_error_type,
    last_outcome.error_message AS last_error,
    j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
    j.args -> 'meta' ->> 'user_id' AS user_id,
    j.args -> 'meta' ->> 'venue_id' AS venue_id,
    j.args -> 'meta' ->> 'request_id' AS request_id,
    j.worker_id,
    j.lock,
    j.abort_requested,
    j.args -> 'data' AS data,
    j.args -> 'meta' AS meta,
    -- What the task last reported (queue.report_progress), kept after it ends.
    progress.percent AS progress_percent,
    progress.message AS progress_message,
    progress.updated_at AS progress_at,
    j.args -> 'meta' ->> 'concurrency_key' AS concurrency_key,
    -- How many of its dependencies a held job still waits for (NULL: none).
    waits.remaining AS waiting_for,
    j.status = 'todo' AND coalesce(j.scheduled_at = 'infinity', false) AS held
FROM procrastinate_jobs AS j
LEFT JOIN queue.queues AS q ON q.name = j.queue_name
LEFT JOIN LATERAL queue.last_error(j.id) AS last_outcome ON true
LEFT JOIN queue.job_progress AS progress ON progress.job_id = j.id
LEFT JOIN queue.job_waits AS waits ON waits.job_id = j.id;
COMMENT ON VIEW queue.jobs IS
    'One row per job: type, state, attempts, times, last error, idempotency key. Filter by id or queue.';
GRANT SELECT ON queue.jobs TO queue_reader;
