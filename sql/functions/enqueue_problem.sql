-- What is wrong with a job queue.enqueue_jobs refused: the SQLSTATE (class QS,
-- see docs/sql-api.md) and the plain message for the first check it failed.
-- enqueue_jobs decides which check that is, in the order that names the root
-- cause; this table says how each one is reported. Called only on the error
-- path, for one job, so it may look things up again.
CREATE OR REPLACE FUNCTION queue.enqueue_problem(failed_check text, job jsonb, at timestamptz)
    RETURNS TABLE (sqlstate text, message text)
    LANGUAGE sql STABLE
AS $$
SELECT p.sqlstate, p.message
FROM (SELECT queue.canonical_queue_name(job ->> 'queue') AS queue_name) AS j
LEFT JOIN queue.job_types AS t ON t.name = job ->> 'job_type'
CROSS JOIN LATERAL (VALUES
    ('not_an_object', 'QS009',
     format('a job must be a JSON object, got %s', jsonb_typeof(job))),
    ('unknown_field', 'QS009', format(
        'unknown field "%s" (fields: queue, job_type, data, priority, run_at, idempotency_key, key_scope, ordering_key, concurrency_key, depends_on, unique_while, on_duplicate, meta)',
        (SELECT min(f) FROM jsonb_object_keys(CASE WHEN jsonb_typeof(job) = 'object' THEN job END) AS f
         WHERE f NOT IN ('queue', 'job_type', 'data', 'priority', 'run_at', 'idempotency_key', 'key_scope', 'ordering_key', 'concurrency_key', 'depends_on', 'unique_while', 'on_duplicate', 'meta')))),
    ('unknown_queue', 'QS001', format('unknown queue "%s" (queues: %s)',
        job ->> 'queue', (SELECT string_agg(q.name, ', ' ORDER BY q.name) FROM queue.queues AS q))),
    ('unknown_job_type', 'QS002', format('unknown job type "%s" (job types of queue "%s": %s)',
        job ->> 'job_type', j.queue_name,
        (SELECT string_agg(k.name, ', ' ORDER BY k.name) FROM queue.job_types AS k
         WHERE k.queue = j.queue_name))),
    ('wrong_queue', 'QS003', format('job type "%s" belongs to queue "%s", not "%s"',
        t.name, t.queue, j.queue_name)),
    ('data_not_an_object', 'QS004', format('data must be a JSON object, got %s',
        coalesce(jsonb_typeof(job -> 'data'), 'nothing'))),
    ('data_too_large', 'QS005', format('data is %s bytes, more than the limit of 65536',
        octet_length((job -> 'data')::text))),
    ('data_too_deep', 'QS005', 'data nests deeper than 32 levels'),
    ('bad_priority', 'QS007', format('priority must be an integer from 1 to 10, got %s',
        job -> 'priority')),
    ('bad_run_at', 'QS009', format('run_at must be an ISO 8601 timestamp, got %s', job -> 'run_at')),
    ('bad_meta', 'QS010', format('meta must be a JSON object, got %s', jsonb_typeof(job -> 'meta'))),
    ('bad_idempotency_key', 'QS011', format(
        'idempotency_key must be a string of 1 to 512 bytes that does not start with "@" (which marks a key scope), got %s',
        left((job -> 'idempotency_key')::text, 80))),
    ('bad_ordering_key', 'QS011', format(
        'ordering_key must be a string of 1 to 512 bytes, got %s',
        left((job -> 'ordering_key')::text, 80))),
    ('bad_concurrency_key', 'QS011', format(
        'concurrency_key must be a string of 1 to 512 bytes, got %s',
        left((job -> 'concurrency_key')::text, 80))),
    ('bad_unique_mode', 'QS009', format(
        'unique_while must be "retained", "active" or "waiting" and on_duplicate "keep" or "replace", got %s and %s',
        coalesce(left((job -> 'unique_while')::text, 40), 'nothing'),
        coalesce(left((job -> 'on_duplicate')::text, 40), 'nothing'))),
    ('unique_without_key', 'QS009',
     'unique_while and on_duplicate need an idempotency key (given, or rendered from the job type''s template)'),
    ('bad_depends_on', 'QS016', format(
        'depends_on must be an array of at most 1000 job ids or {"job_id": id} or {"index": i} objects '
        '(i an earlier job of this call), each with an optional "on_failure" of "fail" or "run", got %s',
        left((job -> 'depends_on')::text, 120))),
    ('bad_key_scope', 'QS011', format(
        'key_scope must be 1 to 64 letters, digits, "-" or "_", got %s',
        left((job -> 'key_scope')::text, 80))),
    ('key_fields_missing', 'QS006', format(
        'job type "%s" needs data field(s) %s for its idempotency key "%s" (or pass idempotency_key)',
        t.name,
        (SELECT string_agg(format('"%s"', replace(m, '|', '" or "')), ', ')
         FROM unnest(queue.missing_key_fields(t.idempotency_key_template, job -> 'data')) AS m),
        t.idempotency_key_template)),
    ('rendered_key_too_long', 'QS011', format(
        'idempotency key rendered from "%s" is %s bytes, more than 512; pass a shorter idempotency_key',
        t.idempotency_key_template,
        octet_length(queue.render_idempotency_key(t.idempotency_key_template, job -> 'data', at))))
) AS p(failed_check, sqlstate, message)
WHERE p.failed_check = enqueue_problem.failed_check
$$;
REVOKE ALL ON FUNCTION queue.enqueue_problem(text, jsonb, timestamptz) FROM PUBLIC;
