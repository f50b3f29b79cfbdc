-- The unique modes of an enqueue call's jobs whose key named a job already
-- (queue.enqueue_jobs, step 4). Returns claimed_ids with the new jobs that
-- took their key over.
-- * on_duplicate = 'replace' (debounce): a waiting job takes the newcomer's
--   data and run time (a job held by its dependencies keeps waiting for them
--   and runs at the new time after). A job already claimed is not changed.
-- * unique_while = 'active': the key is free again once its job has ended (or
--   is gone); 'waiting': once its job has started. The newcomer then takes the
--   key over and is a new job. 'retained' (the default): the key names its
--   first job for as long as it is kept.
-- Locks: the waiting jobs' rows, then the key rows, each in order: two calls
-- with the same keys wait on each other instead of deadlocking. A job being
-- claimed at the same moment is locked by the claim: once the claim commits
-- the job is no longer waiting and is left as it is.
CREATE OR REPLACE FUNCTION queue.enqueue_unique_modes(
    batch queue.enqueue_row[],
    deferred_index integer[],
    deferred_keys text[],
    deferred_ids bigint[],
    claimed_ids bigint[],
    enqueued_at timestamptz
)
    RETURNS bigint[]
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    moded_new bigint[];
    moded_keys text[];
    moded_existing bigint[];
    moded_while text[];
    moded_replace boolean[];
    moded_data jsonb[];
    moded_hashes text[];
    moded_run_at timestamptz[];
    woken_queues text[];
    taken bigint[];
BEGIN
    SELECT array_agg(d.job_id ORDER BY d.key), array_agg(d.key ORDER BY d.key),
           array_agg(k.job_id ORDER BY d.key), array_agg(b.unique_while ORDER BY d.key),
           array_agg(b.on_duplicate = 'replace' ORDER BY d.key), array_agg(b.args -> 'data' ORDER BY d.key),
           array_agg(b.args -> 'meta' ->> 'request_hash' ORDER BY d.key), array_agg(b.run_at ORDER BY d.key)
    INTO moded_new, moded_keys, moded_existing, moded_while, moded_replace, moded_data, moded_hashes, moded_run_at
    FROM unnest(deferred_index, deferred_keys, deferred_ids) AS d(job_index, key, job_id)
    JOIN queue.idempotency_keys AS k ON k.key = d.key
    CROSS JOIN LATERAL (SELECT (batch[d.job_index + 1]).*) AS b
    WHERE d.key IS NOT NULL AND d.job_id <> ALL (claimed_ids)
      AND (b.unique_while <> 'retained' OR b.on_duplicate = 'replace');
    IF moded_new IS NULL THEN
        RETURN claimed_ids;
    END IF;

    -- Replace the waiting jobs' data, run time and request fingerprint.
    PERFORM 1 FROM procrastinate_jobs AS j
    WHERE j.id IN (SELECT m.id FROM unnest(moded_existing, moded_replace) AS m(id, replace) WHERE m.replace)
      AND j.status = 'todo'
    ORDER BY j.id
    FOR UPDATE;
    WITH replaced AS (
        UPDATE procrastinate_jobs AS j
        SET args = jsonb_set(jsonb_set(j.args, '{data}', m.data),
                             '{meta,request_hash}', coalesce(to_jsonb(m.request_hash), 'null')),
            scheduled_at = CASE WHEN j.scheduled_at = 'infinity' THEN j.scheduled_at ELSE m.run_at END
        FROM unnest(moded_existing, moded_replace, moded_data, moded_hashes, moded_run_at)
            AS m(id, replace, data, request_hash, run_at)
        WHERE j.id = m.id AND m.replace AND j.status = 'todo'
        RETURNING j.id, j.queue_name, m.run_at, m.request_hash
    ),
    held AS (
        UPDATE queue.job_waits AS w SET run_at = r.run_at
        FROM replaced AS r
        WHERE w.job_id = r.id
        RETURNING 1
    ),
    rehashed AS (
        UPDATE queue.idempotency_keys AS k SET request_hash = r.request_hash
        FROM replaced AS r, unnest(moded_keys, moded_existing) AS m(key, id)
        WHERE m.id = r.id AND k.key = m.key AND k.job_id = r.id
        RETURNING 1
    )
    SELECT array_agg(DISTINCT r.queue_name) INTO woken_queues FROM replaced AS r;
    PERFORM queue.wake_workers(q) FROM unnest(woken_queues) AS q;

    -- Take over keys whose job no longer holds them in the newcomer's mode.
    PERFORM 1 FROM queue.idempotency_keys AS k
    WHERE k.key = ANY (moded_keys)
    ORDER BY k.key
    FOR UPDATE;
    WITH took AS (
        UPDATE queue.idempotency_keys AS k
        SET job_id = m.new_id, created_at = enqueued_at, request_hash = m.request_hash
        FROM unnest(moded_new, moded_keys, moded_existing, moded_while, moded_hashes)
            AS m(new_id, key, existing_id, unique_while, request_hash)
        WHERE k.key = m.key AND k.job_id = m.existing_id AND m.unique_while <> 'retained'
          AND NOT EXISTS (
              SELECT 1 FROM procrastinate_jobs AS j
              WHERE j.id = m.existing_id
                AND (j.status = 'todo' OR (m.unique_while = 'active' AND j.status = 'doing'))
          )
        RETURNING m.new_id
    )
    SELECT array_agg(t.new_id) INTO taken FROM took AS t;
    RETURN claimed_ids || coalesce(taken, '{}');
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue_unique_modes(queue.enqueue_row[], integer[], text[], bigint[], bigint[], timestamptz) FROM PUBLIC;
