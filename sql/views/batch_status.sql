-- One row per batch: how many of its jobs ended, and how.
CREATE OR REPLACE VIEW queue.batch_status AS
SELECT
    b.id,
    CASE
        WHEN b.finished_at IS NULL THEN 'running'
        WHEN b.failed = 0 AND b.cancelled = 0 THEN 'succeeded'
        ELSE 'finished_with_failures'
    END AS state,
    b.total,
    b.succeeded,
    b.failed,
    b.cancelled,
    b.total - b.succeeded - b.failed - b.cancelled AS pending,
    CASE WHEN b.total = 0 THEN 100
         ELSE floor(100.0 * (b.succeeded + b.failed + b.cancelled) / b.total)::integer END AS percent,
    b.complete_job_id,
    b.failure_job_id,
    b.created_at,
    b.finished_at
FROM queue.batches AS b;
COMMENT ON VIEW queue.batch_status IS
    'One row per batch: state, jobs ended by outcome, pending, percent, callback jobs. Filter by id.';
GRANT SELECT ON queue.batch_status TO queue_reader;
