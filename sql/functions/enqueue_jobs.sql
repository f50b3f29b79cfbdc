-- The single enqueue path. Validates every job, renders idempotency keys,
-- defers the jobs with procrastinate's own defer function (whose triggers record
-- the event and NOTIFY listening workers when the caller's transaction commits)
-- and deduplicates them through the primary key of queue.idempotency_keys.
-- Errors carry SQLSTATEs of class QS (see docs/sql-api.md) and name the bad value.
-- A job's key_scope puts its key (given or rendered) in that caller's own key
-- space, stored as '@<scope>:<key>'; keys given without a scope may not start
-- with '@', so no caller can reach into a scoped space. A job's ordering_key
-- (given, or rendered from its type's ordering_key_template) is procrastinate's
-- serial lock: queue.fetch_jobs runs one job of a key at a time, in order.
-- Internal: callers use queue.enqueue or queue.enqueue_many, which pin the
-- search_path this function resolves procrastinate's objects with.
CREATE OR REPLACE FUNCTION queue.enqueue_jobs(jobs jsonb, label_index boolean, check_payloads boolean)
    RETURNS TABLE (job_index integer, job_id bigint, duplicate boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    batch queue.enqueue_row[];
    bad record;
    failed_count bigint;
    keyed_count bigint;
    claimed_ids bigint[];
    deferred_index integer[];
    deferred_keys text[];
    deferred_types text[];
    deferred_hashes text[];
    deferred_ids bigint[];
    enqueued_at timestamptz := now();
    dependant_count bigint;
    moded_count bigint;
    result_ids bigint[];
    result_duplicates boolean[];
BEGIN
    IF jobs IS NULL OR jsonb_typeof(jobs) <> 'array' THEN
        RAISE EXCEPTION 'jobs must be a JSON array of job objects, got %',
                coalesce(jsonb_typeof(jobs), 'NULL')
            USING ERRCODE = 'QS009';
    END IF;
    -- A bound on one statement's work and memory; split larger batches.
    IF jsonb_array_length(jobs) > 100000 THEN
        RAISE EXCEPTION 'jobs holds % jobs, more than 100000 in one call; split the batch',
                jsonb_array_length(jobs)
            USING ERRCODE = 'QS009';
    END IF;

    -- 1. Parse and validate every job in one pass. Each row carries its first
    --    error; the checks are ordered so the message names the root cause.
    -- (The window function needs its own level: aggregates cannot contain one.)
    -- The same pass counts refused and keyed jobs, so a valid batch without
    -- keys never reads the array again for them.
    SELECT array_agg(v.job ORDER BY (v.job).job_index),
           count(*) FILTER (WHERE (v.job).failed_check IS NOT NULL),
           count(*) FILTER (WHERE (v.job).idempotency_key IS NOT NULL),
           count(*) FILTER (WHERE (v.job).depends_on IS NOT NULL),
           count(*) FILTER (WHERE (v.job).unique_while <> 'retained' OR (v.job).on_duplicate <> 'keep')
    INTO batch, failed_count, keyed_count, dependant_count, moded_count
    FROM (
    SELECT ROW(
        e.ord - 1,
        q.name,
        t.name,
        CASE WHEN e.priority_ok THEN coalesce((e.job ->> 'priority')::numeric::integer, t.default_priority) END,
        -- A run_at without an offset is UTC, whatever the session's TimeZone.
        CASE WHEN e.run_at_ok THEN
            CASE WHEN e.job ->> 'run_at' ~ '(Z|[+-]\d{2}(:?\d{2})?)$' THEN (e.job ->> 'run_at')::timestamptz
                 ELSE (e.job ->> 'run_at')::timestamp AT TIME ZONE 'UTC' END
        END,
        k.key,
        row_number() OVER (PARTITION BY k.key ORDER BY e.ord) = 1,
        jsonb_build_object(
            'data', e.job -> 'data',
            -- The service's own meta keys are set here, never taken from the
            -- caller: a caller's concurrency_key or base_priority would jump
            -- a limit or an aging.
            -- Each step runs only for a job that needs it: the common job's
            -- meta is built with one concatenation, as before these keys.
            'meta', CASE WHEN e.meta_ok THEN
                    CASE WHEN e.job -> 'meta' ?| '{concurrency_key,base_priority,unique_while}'::text[]
                         THEN (e.job -> 'meta') - '{concurrency_key,base_priority,unique_while}'::text[]
                         ELSE coalesce(nullif(e.job -> 'meta', 'null'), '{}') END
                    || CASE WHEN e.job ? 'concurrency_key' OR e.job ? 'unique_while' THEN
                            jsonb_build_object('idempotency_key', k.key, 'enqueued_at', enqueued_at)
                            -- A key that frees itself is reused by later jobs:
                            -- the worker keys their provider calls by job.
                            || jsonb_strip_nulls(jsonb_build_object(
                                'concurrency_key', CASE WHEN e.concurrency_ok THEN e.job ->> 'concurrency_key' END,
                                'unique_while', CASE WHEN e.job ->> 'unique_while' IN ('active', 'waiting')
                                                     THEN e.job ->> 'unique_while' END))
                       ELSE jsonb_build_object('idempotency_key', k.key, 'enqueued_at', enqueued_at) END
                END
        ),
        -- The first check the job fails, in the order that names the root
        -- cause; queue.enqueue_problem says how each is reported.
        CASE
            WHEN e.kind <> 'object' THEN 'not_an_object'
            WHEN e.unknown_field IS NOT NULL THEN 'unknown_field'
            WHEN q.name IS NULL THEN 'unknown_queue'
            WHEN t.name IS NULL THEN 'unknown_job_type'
            WHEN t.queue <> q.name THEN 'wrong_queue'
            WHEN jsonb_typeof(e.job -> 'data') IS DISTINCT FROM 'object' THEN 'data_not_an_object'
            WHEN octet_length((e.job -> 'data')::text) > 65536 THEN 'data_too_large'
            WHEN queue.json_too_deep(e.job -> 'data') THEN 'data_too_deep'
            WHEN NOT e.priority_ok THEN 'bad_priority'
            WHEN NOT e.run_at_ok THEN 'bad_run_at'
            WHEN NOT e.meta_ok THEN 'bad_meta'
            WHEN NOT e.key_ok THEN 'bad_idempotency_key'
            WHEN NOT e.scope_ok THEN 'bad_key_scope'
            WHEN NOT e.ordering_ok THEN 'bad_ordering_key'
            WHEN NOT e.concurrency_ok THEN 'bad_concurrency_key'
            WHEN NOT e.unique_ok THEN 'bad_unique_mode'
            WHEN NOT e.depends_ok THEN 'bad_depends_on'
            WHEN k.key IS NULL AND t.idempotency_key_template IS NOT NULL THEN 'key_fields_missing'
            WHEN octet_length(k.unscoped) > 512 THEN 'rendered_key_too_long'
            WHEN k.key IS NULL AND (e.job ->> 'unique_while' IS NOT NULL OR e.job ->> 'on_duplicate' IS NOT NULL)
                THEN 'unique_without_key'
        END,
        o.ordering_key,
        e.job ->> 'concurrency_key',
        CASE WHEN jsonb_typeof(e.job -> 'depends_on') = 'array' AND jsonb_array_length(e.job -> 'depends_on') > 0
             THEN e.job -> 'depends_on' END,
        coalesce(e.job ->> 'unique_while', 'retained'),
        coalesce(e.job ->> 'on_duplicate', 'keep')
    )::queue.enqueue_row AS job
    FROM (
        SELECT
            j.job,
            j.ord,
            jsonb_typeof(j.job) AS kind,
            -- Removing the known fields is cheap; listing keys runs only when
            -- something is left.
            CASE WHEN jsonb_typeof(j.job) = 'object' AND j.job - known.fields <> '{}' THEN
                (SELECT min(f) FROM jsonb_object_keys(j.job - known.fields) AS f)
            END AS unknown_field,
            coalesce(jsonb_typeof(j.job -> 'priority'), 'null') = 'null'
                OR (jsonb_typeof(j.job -> 'priority') = 'number'
                    AND (j.job ->> 'priority')::numeric IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)) AS priority_ok,
            coalesce(jsonb_typeof(j.job -> 'run_at'), 'null') = 'null'
                OR (jsonb_typeof(j.job -> 'run_at') = 'string'
                    AND j.job ->> 'run_at' ~ '^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$'
                ) AS run_at_ok,
            coalesce(jsonb_typeof(j.job -> 'meta'), 'null') IN ('null', 'object') AS meta_ok,
            coalesce(jsonb_typeof(j.job -> 'idempotency_key'), 'null') = 'null'
                OR (jsonb_typeof(j.job -> 'idempotency_key') = 'string'
                    AND octet_length(j.job ->> 'idempotency_key') BETWEEN 1 AND 512
                    AND left(j.job ->> 'idempotency_key', 1) <> '@') AS key_ok,
            coalesce(jsonb_typeof(j.job -> 'key_scope'), 'null') = 'null'
                OR (jsonb_typeof(j.job -> 'key_scope') = 'string'
                    AND j.job ->> 'key_scope' ~ '^[A-Za-z0-9_-]{1,64}$') AS scope_ok,
            coalesce(jsonb_typeof(j.job -> 'ordering_key'), 'null') = 'null'
                OR (jsonb_typeof(j.job -> 'ordering_key') = 'string'
                    AND octet_length(j.job ->> 'ordering_key') BETWEEN 1 AND 512) AS ordering_ok,
            coalesce(jsonb_typeof(j.job -> 'concurrency_key'), 'null') = 'null'
                OR (jsonb_typeof(j.job -> 'concurrency_key') = 'string'
                    AND octet_length(j.job ->> 'concurrency_key') BETWEEN 1 AND 512) AS concurrency_ok,
            (coalesce(jsonb_typeof(j.job -> 'unique_while'), 'null') = 'null'
                OR j.job -> 'unique_while' IN ('"retained"', '"active"', '"waiting"'))
            AND (coalesce(jsonb_typeof(j.job -> 'on_duplicate'), 'null') = 'null'
                OR j.job -> 'on_duplicate' IN ('"keep"', '"replace"')) AS unique_ok,
            coalesce(jsonb_typeof(j.job -> 'depends_on'), 'null') = 'null'
                OR queue.dependencies_ok(j.job -> 'depends_on', (j.ord - 1)::integer) AS depends_ok
        FROM jsonb_array_elements(jobs) WITH ORDINALITY AS j(job, ord),
            (VALUES ('{queue,job_type,data,priority,run_at,idempotency_key,key_scope,ordering_key,meta,concurrency_key,depends_on,unique_while,on_duplicate}'::text[])) AS known(fields)
    ) AS e
    LEFT JOIN queue.queues AS q ON q.name = queue.canonical_queue_name(e.job ->> 'queue')
    LEFT JOIN queue.job_types AS t ON t.name = e.job ->> 'job_type'
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN NOT e.key_ok OR t.name IS NULL OR jsonb_typeof(e.job -> 'data') IS DISTINCT FROM 'object' THEN NULL
            WHEN jsonb_typeof(e.job -> 'idempotency_key') = 'string' THEN e.job ->> 'idempotency_key'
            WHEN t.idempotency_key_template IS NOT NULL THEN
                queue.render_idempotency_key(t.idempotency_key_template, e.job -> 'data', enqueued_at)
        END AS unscoped
    ) AS u
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN e.scope_ok AND jsonb_typeof(e.job -> 'key_scope') = 'string' AND u.unscoped IS NOT NULL
                THEN '@' || (e.job ->> 'key_scope') || ':' || u.unscoped
            ELSE u.unscoped
        END AS key,
        u.unscoped
    ) AS k
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN jsonb_typeof(e.job -> 'ordering_key') = 'string' THEN e.job ->> 'ordering_key'
            WHEN t.ordering_key_template IS NOT NULL AND jsonb_typeof(e.job -> 'data') = 'object' THEN
                queue.render_idempotency_key(t.ordering_key_template, e.job -> 'data', enqueued_at)
        END AS ordering_key
    ) AS o
    ) AS v;

    IF batch IS NULL THEN
        RETURN;  -- an empty array enqueues nothing
    END IF;

    -- Refuse the batch at its first refused job. A check without a row in
    -- enqueue_problem still refuses the job.
    IF failed_count > 0 THEN
        SELECT b.job_index,
               coalesce(p.sqlstate, 'QS009') AS sqlstate,
               coalesce(p.message, format('the job fails check %s', b.failed_check)) AS message
        INTO bad
        FROM unnest(batch) AS b
        LEFT JOIN LATERAL queue.enqueue_problem(b.failed_check, jobs -> b.job_index, enqueued_at) AS p
            ON true
        WHERE b.failed_check IS NOT NULL
        ORDER BY b.job_index
        LIMIT 1;
        RAISE EXCEPTION '%', CASE WHEN label_index THEN format('jobs[%s]: %s', bad.job_index, bad.message)
                                  ELSE bad.message END
            USING ERRCODE = bad.sqlstate;
    END IF;

    -- The data of a catalogued type must satisfy its payload model: the
    -- verdict the API and the worker give, here inside the caller's
    -- transaction. One statement for the batch.
    -- check_payloads is false only for the service's own Python path, which
    -- has checked every payload with the same models (queue.enqueue_many_checked).
    IF check_payloads THEN
        SELECT p.job_index, p.pointer, p.detail INTO bad FROM queue.first_payload_problem(batch) AS p;
    END IF;
    IF check_payloads AND FOUND THEN
        RAISE EXCEPTION '%', format('%sinvalid data: /data%s: %s',
                CASE WHEN label_index THEN format('jobs[%s]: ', bad.job_index) ELSE '' END,
                bad.pointer, bad.detail)
            USING ERRCODE = 'QS004';
    END IF;

    -- 2. Defer every job that may be new: those without a key and the first
    --    job of each key in the batch. A job with dependencies is held
    --    (scheduled_at = 'infinity', which no claim takes) until they end.
    SELECT array_agg(b.job_index ORDER BY b.job_index),
           array_agg(b.idempotency_key ORDER BY b.job_index),
           array_agg(b.job_type ORDER BY b.job_index),
           array_agg(b.args -> 'meta' ->> 'request_hash' ORDER BY b.job_index),
           procrastinate_defer_jobs_v1(array_agg(ROW(
               b.queue_name, b.job_type, b.priority, b.ordering_key, NULL, b.args,
               CASE WHEN b.depends_on IS NOT NULL THEN timestamptz 'infinity' ELSE b.run_at END
           )::procrastinate_job_to_defer_v1 ORDER BY b.job_index))
    INTO deferred_index, deferred_keys, deferred_types, deferred_hashes, deferred_ids
    FROM unnest(batch) AS b
    WHERE b.idempotency_key IS NULL OR b.first_of_key;

    -- procrastinate aggregates the inserted ids without an ORDER BY. Ids come
    -- from one sequence in insertion order, and rows are inserted in array
    -- order, so sorting the ids restores the order of deferred_index.
    IF cardinality(deferred_ids) > 1 THEN
        SELECT array_agg(id ORDER BY id) INTO deferred_ids FROM unnest(deferred_ids) AS id;
    END IF;

    -- 3. Claim the keys of the new jobs. The primary key decides races, never a
    --    read: a concurrent insert of the same key waits for the other
    --    transaction and, once it commits, ON CONFLICT DO NOTHING skips the row
    --    (no error). Keys go in sorted order so that two batches with
    --    overlapping keys wait on each other instead of deadlocking.
    IF keyed_count > 0 THEN
        WITH claimed AS (
            INSERT INTO queue.idempotency_keys (key, job_type, job_id, created_at, request_hash)
            SELECT d.key, d.job_type, d.job_id, enqueued_at, d.request_hash
            FROM unnest(deferred_keys, deferred_types, deferred_ids, deferred_hashes)
                AS d(key, job_type, job_id, request_hash)
            WHERE d.key IS NOT NULL
            ORDER BY d.key
            ON CONFLICT (key) DO NOTHING
            RETURNING idempotency_keys.job_id
        )
        SELECT coalesce(array_agg(claimed.job_id), '{}') INTO claimed_ids FROM claimed;
    END IF;

    -- Every keyed job claimed its key: all jobs are new.
    IF keyed_count = coalesce(cardinality(claimed_ids), 0) THEN
        IF dependant_count = 0 THEN
            RETURN QUERY SELECT d.job_index, d.job_id, false
                FROM unnest(deferred_index, deferred_ids) AS d(job_index, job_id);
            RETURN;
        END IF;
        result_ids := deferred_ids;
        result_duplicates := array_fill(false, ARRAY[cardinality(deferred_ids)]);
    ELSE
        -- 4. Some keys named a job already. A key taken by another job type is
        --    a caller's mistake, not a duplicate: say so rather than hand back
        --    an unrelated job (or replace its data).
        SELECT b.job_index, b.idempotency_key, b.job_type, k.job_type AS taken_by, k.job_id AS taken_job INTO bad
        FROM unnest(batch) AS b
        JOIN queue.idempotency_keys AS k ON k.key = b.idempotency_key
        WHERE k.job_type <> b.job_type
        ORDER BY b.job_index
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION '%', format('%sidempotency key "%s" belongs to job %s of type "%s", not "%s"',
                    CASE WHEN label_index THEN format('jobs[%s]: ', bad.job_index) ELSE '' END,
                    bad.idempotency_key, bad.taken_job, bad.taken_by, bad.job_type)
                USING ERRCODE = 'QS008';
        END IF;

        IF moded_count > 0 THEN
            -- Keys in a mode that frees them, or replaces a waiting job's data.
            SELECT queue.enqueue_unique_modes(batch, deferred_index, deferred_keys, deferred_ids, claimed_ids, enqueued_at)
                INTO claimed_ids;
        END IF;

        -- The jobs deferred for keys that stay taken are not new after all:
        -- delete them (no other transaction ever saw them) and answer with the
        -- job the key names.
        DELETE FROM procrastinate_jobs AS j
        USING unnest(deferred_keys, deferred_ids) AS d(key, job_id)
        WHERE j.id = d.job_id AND d.key IS NOT NULL AND d.job_id <> ALL(claimed_ids);

        IF dependant_count = 0 THEN
            RETURN QUERY
            SELECT b.job_index,
                   CASE WHEN b.idempotency_key IS NULL THEN d.job_id ELSE k.job_id END,
                   b.idempotency_key IS NOT NULL AND k.job_id IS DISTINCT FROM d.job_id
            FROM unnest(batch) AS b
            LEFT JOIN unnest(deferred_index, deferred_ids) AS d(job_index, job_id) ON d.job_index = b.job_index
            LEFT JOIN queue.idempotency_keys AS k ON k.key = b.idempotency_key
            ORDER BY b.job_index;
            RETURN;
        END IF;
        SELECT array_agg(CASE WHEN b.idempotency_key IS NULL THEN d.job_id ELSE k.job_id END ORDER BY b.job_index),
               array_agg(b.idempotency_key IS NOT NULL AND k.job_id IS DISTINCT FROM d.job_id ORDER BY b.job_index)
        INTO result_ids, result_duplicates
        FROM unnest(batch) AS b
        LEFT JOIN unnest(deferred_index, deferred_ids) AS d(job_index, job_id) ON d.job_index = b.job_index
        LEFT JOIN queue.idempotency_keys AS k ON k.key = b.idempotency_key;
    END IF;

    -- 5. The new jobs' dependencies: recorded, and counted at once for those
    --    that have ended already.
    PERFORM queue.add_dependencies(batch, result_ids, result_duplicates, label_index);
    RETURN QUERY
    SELECT (r.ord - 1)::integer, r.job_id, r.duplicate
    FROM unnest(result_ids, result_duplicates) WITH ORDINALITY AS r(job_id, duplicate, ord);
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue_jobs(jsonb, boolean, boolean) FROM PUBLIC;
