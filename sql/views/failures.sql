-- Dead letters: jobs that spent their attempts (or failed permanently).
CREATE OR REPLACE VIEW queue.failures AS
SELECT
    j.id,
    j.queue_name AS queue,
    j.task_name AS job_type,
    j.attempts,
    q.max_attempts,
    queue.job_finished_at(j.id) AS failed_at,
    last_outcome.error_type AS last_error_type,
    last_outcome.error_message AS last_error,
    j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
    j.args -> 'data' AS data
FROM procrastinate_jobs AS j
LEFT JOIN queue.queues AS q ON q.name = j.queue_name
LEFT JOIN LATERAL queue.last_error(j.id) AS last_outcome ON true
WHERE j.status = 'failed';
COMMENT ON VIEW queue.failures IS
    'Failed (dead-lettered) jobs with their last error; retry them by id or in bulk.';
GRANT SELECT ON queue.failures TO queue_reader;
