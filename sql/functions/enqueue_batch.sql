-- Enqueue a batch: jobs (the array queue.enqueue_many takes) counted as one
-- group as they end, and up to two callback jobs (objects of the same fields)
-- created now and held until the batch calls them: on_complete when every
-- job of the batch has ended, whatever its outcome; on_failure at the first
-- job that fails for good (and cancelled if the batch ends without one).
-- A callback's meta carries batch_id. Returns the batch's id with each job's
-- row as queue.enqueue_many returns it; all or nothing, like it.
-- A job that is a duplicate of an existing job counts as that job: if it has
-- ended already, it is counted at once. A callback's idempotency key (given
-- or rendered) is its batch's own (key scope batch-<id>), so a callback is
-- always a new job; it runs when its batch calls it, so it takes no run_at.
-- idempotency_key names the batch: sent again under it, the call creates
-- nothing and answers with the first batch and its jobs (duplicate = true);
-- request_hash is kept for the caller to tell a replay from another request;
-- replayed says which the call was.
-- owner: who may read the batch over HTTP ({"user_id", "venue_id"}).
-- SECURITY DEFINER: producers may call this without any right on the tables.
CREATE OR REPLACE FUNCTION queue.enqueue_batch(
    jobs jsonb,
    on_complete jsonb DEFAULT NULL,
    on_failure jsonb DEFAULT NULL,
    owner jsonb DEFAULT '{}',
    idempotency_key text DEFAULT NULL,
    request_hash text DEFAULT NULL
)
    RETURNS TABLE (batch_id bigint, job_index integer, job_id bigint, duplicate boolean, replayed boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    new_batch bigint;
    member_ids bigint[];
    callback record;
    complete_id bigint;
    failure_id bigint;
    ended_ids bigint[];
    ended_outcomes text[];
    result_index integer[];
    result_ids bigint[];
    result_duplicates boolean[];
    callback_job jsonb;
BEGIN
    IF jobs IS NULL OR jsonb_typeof(jobs) <> 'array' OR jsonb_array_length(jobs) = 0 THEN
        RAISE EXCEPTION 'a batch needs jobs: a JSON array of at least one job object, got %',
                coalesce(left(jobs::text, 80), 'NULL')
            USING ERRCODE = 'QS009';
    END IF;
    IF owner IS NULL OR jsonb_typeof(owner) <> 'object' THEN
        RAISE EXCEPTION 'owner must be a JSON object, got %', coalesce(jsonb_typeof(owner), 'NULL')
            USING ERRCODE = 'QS009';
    END IF;
    IF idempotency_key IS NOT NULL AND octet_length(idempotency_key) NOT BETWEEN 1 AND 600 THEN
        RAISE EXCEPTION 'a batch''s idempotency_key must be 1 to 600 bytes, got %', octet_length(idempotency_key)
            USING ERRCODE = 'QS011';
    END IF;
    -- The key's row decides a race: a second call waits for the first to
    -- commit, then finds its batch.
    INSERT INTO queue.batches (total, owner, idempotency_key, request_hash)
    VALUES (0, owner, enqueue_batch.idempotency_key, enqueue_batch.request_hash)
    ON CONFLICT ON CONSTRAINT batches_idempotency_key_key DO NOTHING
    RETURNING id INTO new_batch;
    IF new_batch IS NULL THEN
        RETURN QUERY SELECT b.id, (m.ord - 1)::integer, m.job_id, true, true
            FROM queue.batches AS b, unnest(b.job_ids) WITH ORDINALITY AS m(job_id, ord)
            WHERE b.idempotency_key = enqueue_batch.idempotency_key
            ORDER BY m.ord;
        RETURN;
    END IF;

    SELECT array_agg(r.job_index ORDER BY r.job_index), array_agg(r.job_id ORDER BY r.job_index),
           array_agg(r.duplicate ORDER BY r.job_index)
    INTO result_index, result_ids, result_duplicates
    FROM queue.enqueue_jobs(jobs, true, true) AS r;

    -- The callbacks, each held until the batch releases it.
    FOR callback IN
        SELECT c.name, c.job FROM (VALUES ('on_complete', on_complete), ('on_failure', on_failure)) AS c(name, job)
        WHERE c.job IS NOT NULL AND c.job <> 'null'
    LOOP
        IF jsonb_typeof(callback.job) <> 'object' THEN
            RAISE EXCEPTION '%: a callback must be a job object, got %', callback.name, jsonb_typeof(callback.job)
                USING ERRCODE = 'QS009';
        END IF;
        IF coalesce(jsonb_typeof(callback.job -> 'depends_on'), 'null') <> 'null' THEN
            RAISE EXCEPTION '%: a callback waits for its batch, not for depends_on', callback.name
                USING ERRCODE = 'QS016';
        END IF;
        IF coalesce(jsonb_typeof(callback.job -> 'run_at'), 'null') <> 'null' THEN
            RAISE EXCEPTION '%: a callback runs when its batch calls it, so it takes no run_at', callback.name
                USING ERRCODE = 'QS009';
        END IF;
        DECLARE
            made record;
        BEGIN
            -- The callback's meta names its batch (a meta that is not an
            -- object is left for enqueue_jobs to refuse).
            -- Its key is its batch's own: a callback is always a new job.
            callback_job := callback.job || jsonb_build_object('key_scope', 'batch-' || new_batch);
            IF coalesce(jsonb_typeof(callback_job -> 'meta'), 'null') IN ('null', 'object') THEN
                callback_job := callback_job || jsonb_build_object('meta',
                    coalesce(nullif(callback_job -> 'meta', 'null'), '{}') || jsonb_build_object('batch_id', new_batch));
            END IF;
            SELECT r.job_id, r.duplicate INTO made
            FROM queue.enqueue_jobs(jsonb_build_array(callback_job), false, true) AS r;
            IF made.duplicate THEN
                RAISE EXCEPTION 'its idempotency key names job % already: a callback must be a new job', made.job_id
                    USING ERRCODE = 'QS008';
            END IF;
            UPDATE procrastinate_jobs AS j SET scheduled_at = 'infinity' WHERE j.id = made.job_id;
            IF callback.name = 'on_complete' THEN
                complete_id := made.job_id;
            ELSE
                failure_id := made.job_id;
            END IF;
        EXCEPTION WHEN OTHERS THEN
            DECLARE
                state text;
                message text;
            BEGIN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
                RAISE EXCEPTION '%: %', callback.name, message USING ERRCODE = state;
            END;
        END;
    END LOOP;

    SELECT array_agg(DISTINCT e.id) INTO member_ids FROM unnest(result_ids) AS e(id);
    INSERT INTO queue.batch_jobs (batch_id, job_id)
    SELECT new_batch, m.id FROM unnest(member_ids) AS m(id) ORDER BY m.id;
    UPDATE queue.batches AS b
    SET total = cardinality(member_ids), complete_job_id = complete_id, failure_job_id = failure_id,
        job_ids = result_ids
    WHERE b.id = new_batch;

    -- Duplicates of jobs that have ended already count at once.
    SELECT array_agg(j.id), array_agg(j.status::text) INTO ended_ids, ended_outcomes
    FROM procrastinate_jobs AS j
    WHERE j.id = ANY (member_ids) AND j.status IN ('succeeded', 'failed', 'cancelled', 'aborted');
    IF ended_ids IS NOT NULL THEN
        PERFORM queue.jobs_ended(ended_ids, ended_outcomes);
    END IF;

    RETURN QUERY SELECT new_batch, e.job_index, e.job_id, e.duplicate, false
        FROM unnest(result_index, result_ids, result_duplicates) AS e(job_index, job_id, duplicate);
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text, text) TO queue_producer;
