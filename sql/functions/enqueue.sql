-- Enqueue one job. Returns its id, and duplicate = true when the idempotency key
-- (given or rendered from the job type's template) already names a job.
-- key_scope: the caller's own key space (see queue.enqueue_jobs); without it,
-- keys are in the space every unscoped producer shares. ordering_key: jobs of
-- one key run one at a time, in enqueue order (else the type's template's).
-- concurrency_key: at most the queue's key_concurrency jobs of one key run at
-- once. depends_on: jobs this one waits for (see queue.dependencies_ok).
-- unique_while ('retained', 'active', 'waiting') and on_duplicate ('keep',
-- 'replace'): how long the key stays unique, and whether a duplicate replaces
-- a waiting job's data and run time.
-- SECURITY DEFINER: producers may call this without any right on the tables.
CREATE OR REPLACE FUNCTION queue.enqueue(
    queue text,
    job_type text,
    data jsonb,
    priority integer DEFAULT NULL,
    run_at timestamptz DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    meta jsonb DEFAULT '{}',
    key_scope text DEFAULT NULL,
    ordering_key text DEFAULT NULL,
    concurrency_key text DEFAULT NULL,
    depends_on jsonb DEFAULT NULL,
    unique_while text DEFAULT NULL,
    on_duplicate text DEFAULT NULL
)
    RETURNS TABLE (job_id bigint, duplicate boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    kind record;
BEGIN
    -- Fast path for the commonest call, a job without any idempotency key
    -- whose fields are plainly valid: one lookup and procrastinate's defer,
    -- about a third of the cost of the batch code. Anything else, valid or
    -- not, takes the batch code, which alone decides errors and keys, so the
    -- two paths cannot disagree on what is accepted. The envelope is built as
    -- the batch code builds it.
    IF enqueue.idempotency_key IS NULL
       AND enqueue.ordering_key IS NULL
       AND enqueue.concurrency_key IS NULL
       AND enqueue.depends_on IS NULL
       AND enqueue.unique_while IS NULL
       AND enqueue.on_duplicate IS NULL
       AND jsonb_typeof(enqueue.data) = 'object'
       AND (enqueue.meta IS NULL OR jsonb_typeof(enqueue.meta) = 'object')
       AND (enqueue.priority IS NULL OR enqueue.priority BETWEEN 1 AND 10)
    THEN
        SELECT t.name, t.queue, t.default_priority INTO kind
        FROM queue.job_types AS t
        WHERE t.name = enqueue.job_type
          AND t.queue = queue.canonical_queue_name(enqueue.queue)
          AND t.idempotency_key_template IS NULL
          AND t.ordering_key_template IS NULL
          AND t.payload_one_of IS NULL;
        IF FOUND AND octet_length(enqueue.data::text) <= 65536
           AND NOT queue.json_too_deep(enqueue.data)
           AND NOT EXISTS (
               SELECT 1 FROM queue.payload_fields AS f
               CROSS JOIN LATERAL (SELECT queue.payload_field_value(f, enqueue.data) AS value OFFSET 0) AS v
               WHERE f.job_type = kind.name
                 AND queue.payload_field_problem(f, v.value) IS NOT NULL
                 AND (f.parent IS NULL OR jsonb_typeof(enqueue.data -> f.parent) = 'object')
           ) THEN
            RETURN QUERY SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(
                kind.queue, kind.name, coalesce(enqueue.priority, kind.default_priority), NULL, NULL,
                jsonb_build_object(
                    'data', enqueue.data,
                    'meta', (coalesce(enqueue.meta, '{}') - '{concurrency_key,base_priority,unique_while}'::text[])
                        || jsonb_build_object('idempotency_key', NULL, 'enqueued_at', now())
                ),
                enqueue.run_at
            )::procrastinate_job_to_defer_v1]))[1], false;
            RETURN;
        END IF;
    END IF;
    -- plpgsql, not SQL, for the same reason as enqueue_jobs: cached plans.
    RETURN QUERY SELECT r.job_id, r.duplicate
    FROM queue.enqueue_jobs(
        jsonb_build_array(jsonb_build_object(
            'queue', queue,
            'job_type', job_type,
            'data', coalesce(data, 'null'::jsonb),
            'priority', priority,
            'run_at', run_at,
            'idempotency_key', idempotency_key,
            'key_scope', key_scope,
            'ordering_key', ordering_key,
            'concurrency_key', concurrency_key,
            'depends_on', depends_on,
            'unique_while', unique_while,
            'on_duplicate', on_duplicate,
            'meta', meta
        )),
        false,
        true
    ) AS r;
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb, text, text, text, jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb, text, text, text, jsonb, text, text) TO queue_producer;
