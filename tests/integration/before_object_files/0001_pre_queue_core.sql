-- 0001_pre_queue_core: schema `queue`, policy tables, the single enqueue path.
--
-- Intent: everything a job needs before a worker sees it. `queue.queues` holds the
-- per-queue policy (the old service's persistence tiers), `queue.job_types` maps each
-- job type to its queue, default priority and idempotency-key template, and
-- `queue.enqueue` / `queue.enqueue_many` are the only way jobs are created: HTTP,
-- Python and other services' SQL all call them.
--
-- Lock impact: creates new objects only; procrastinate's tables are untouched here
-- (their indexes and storage settings are in 0002).
-- Operator steps: none.

-- Policy per queue. A tier is a preset of these values; any row may be edited
-- at run time, and new queues may be added.
CREATE TABLE queue.queues (
    name text NOT NULL,
    tier text NOT NULL,
    max_attempts integer NOT NULL,
    backoff text NOT NULL,
    backoff_base_s double precision NOT NULL,
    backoff_factor double precision NOT NULL DEFAULT 2,
    backoff_cap_s double precision,
    backoff_jitter boolean NOT NULL DEFAULT false,
    keep_succeeded interval NOT NULL,
    keep_failed interval NOT NULL,
    keep_results boolean NOT NULL,
    concurrency integer NOT NULL,
    alert_max_waiting integer NOT NULL,
    alert_max_oldest_age interval NOT NULL,
    alert_max_failed_per_hour integer NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT queues_pkey PRIMARY KEY (name),
    -- procrastinate builds NOTIFY channel names from queue names and Postgres
    -- caps those at 63 bytes; "-queue" is reserved for the old service's aliases.
    CONSTRAINT queues_name_check CHECK (
        name ~ '^[a-z][a-z0-9_-]*$' AND octet_length(name) <= 40 AND name !~ '-queue$'
    ),
    CONSTRAINT queues_tier_check CHECK (tier IN ('critical', 'important', 'ephemeral')),
    CONSTRAINT queues_max_attempts_check CHECK (max_attempts BETWEEN 1 AND 100),
    CONSTRAINT queues_backoff_check CHECK (backoff IN ('exponential', 'fixed')),
    CONSTRAINT queues_backoff_base_s_check CHECK (backoff_base_s > 0),
    CONSTRAINT queues_backoff_factor_check CHECK (backoff_factor >= 1),
    CONSTRAINT queues_backoff_cap_s_check CHECK (backoff_cap_s IS NULL OR backoff_cap_s >= backoff_base_s),
    CONSTRAINT queues_keep_check CHECK (keep_succeeded >= '0' AND keep_failed >= '0'),
    CONSTRAINT queues_concurrency_check CHECK (concurrency BETWEEN 1 AND 1000),
    CONSTRAINT queues_alert_check CHECK (
        alert_max_waiting > 0 AND alert_max_oldest_age > '0' AND alert_max_failed_per_hour > 0
    )
);
COMMENT ON TABLE queue.queues IS
    'Policy per queue: retries, backoff, retention (keep_succeeded 0 = delete on success), concurrency per worker process, alert thresholds, paused.';

INSERT INTO queue.queues (
    name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
    backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency,
    alert_max_waiting, alert_max_oldest_age, alert_max_failed_per_hour
) VALUES
    ('money', 'critical', 10, 'exponential', 2, 2, 3600, true,
     '90 days', '365 days', true, 5, 50, '10 minutes', 10),
    ('communication', 'important', 3, 'fixed', 5, 1, NULL, false,
     '7 days', '30 days', true, 20, 5000, '30 minutes', 100),
    ('background', 'ephemeral', 2, 'fixed', 10, 1, NULL, false,
     '0', '7 days', false, 10, 50000, '120 minutes', 1000);

-- Job types. An idempotency_key_template renders a key from the payload when the
-- caller gives none: `{field}` is a payload field, `{a|b}` the first present of
-- a and b, `{date}` / `{hour}` the UTC enqueue date (YYYY-MM-DD) and hour
-- (YYYY-MM-DDTHH). NULL means no automatic key (callers may still pass one).
CREATE TABLE queue.job_types (
    name text NOT NULL,
    queue text NOT NULL,
    default_priority integer NOT NULL,
    idempotency_key_template text,
    keep_succeeded interval,
    provider text,
    description text NOT NULL,
    CONSTRAINT job_types_pkey PRIMARY KEY (name),
    CONSTRAINT job_types_queue_fkey FOREIGN KEY (queue) REFERENCES queue.queues (name)
        ON UPDATE CASCADE,
    CONSTRAINT job_types_name_check CHECK (name ~ '^[a-z][a-z0-9-]*$' AND octet_length(name) <= 128),
    CONSTRAINT job_types_default_priority_check CHECK (default_priority BETWEEN 1 AND 10),
    CONSTRAINT job_types_idempotency_key_template_check CHECK (
        idempotency_key_template ~ '^([^{}]|\{[A-Za-z][A-Za-z0-9_]*(\|[A-Za-z][A-Za-z0-9_]*)*\})+$'
    ),
    CONSTRAINT job_types_keep_succeeded_check CHECK (keep_succeeded >= '0')
);
CREATE INDEX job_types_queue_idx ON queue.job_types (queue);
COMMENT ON TABLE queue.job_types IS
    'Job type -> queue, default priority (higher runs first), idempotency-key template, retention override, provider.';

INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, description) VALUES
    ('payment-process', 'money', 10, 'payment-{venueId}-{userId}-{eventId}-{amount}', NULL, 'stripe',
     'Create and confirm a Stripe PaymentIntent.'),
    ('refund-process', 'money', 10, 'refund-{transactionId}', NULL, 'stripe',
     'Refund a Stripe payment.'),
    ('payout-process', 'money', 10, 'payout-{venueId}-{payoutId}', NULL, 'stripe',
     'Pay a venue out through Stripe; payoutId is the caller''s own payout record id.'),
    ('nft-mint', 'money', 7, 'nft-{eventId}-{seatId|ticketId}', '365 days', 'minting',
     'Mint a ticket NFT through the minting service.'),
    ('send-email', 'communication', 5, 'email-{template|subject}-{to}-{date}', NULL, 'sendgrid',
     'Send an email through SendGrid.'),
    ('send-sms', 'communication', 5, 'sms-{to}-{template}-{hour}', NULL, 'twilio',
     'Send an SMS through Twilio.'),
    ('send-push', 'communication', 5, 'push-{userId}-{title}-{hour}', NULL, 'push',
     'Send a push notification through the push gateway.'),
    ('webhook-deliver', 'communication', 5, 'webhook-{eventId}-{url}', NULL, 'webhook',
     'POST a signed JSON event to a subscriber URL.'),
    ('analytics-track', 'background', 3, NULL, NULL, NULL,
     'Record an analytics event.'),
    ('cleanup-old-data', 'background', 1, NULL, NULL, NULL,
     'Delete data the service owns past its lifetime.'),
    ('generate-report', 'background', 3, NULL, NULL, NULL,
     'Write a CSV or JSON report over the service''s own data.');

-- Idempotency keys. The primary key is what makes enqueue idempotent under races:
-- the first insert of a key wins, a concurrent one waits for it and then sees it.
-- job_id is set in the same transaction as the insert. No foreign key to the job:
-- retention may delete a finished job before its key expires, and the key must
-- keep answering "already done" until then.
CREATE TABLE queue.idempotency_keys (
    key text NOT NULL,
    job_type text NOT NULL,
    job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Fingerprint of the HTTP request that created the job (meta.request_hash),
    -- so a replay with another body under the same key can be told apart.
    request_hash text,
    CONSTRAINT idempotency_keys_pkey PRIMARY KEY (key),
    CONSTRAINT idempotency_keys_key_check CHECK (octet_length(key) BETWEEN 1 AND 512)
);
CREATE INDEX idempotency_keys_created_at_idx ON queue.idempotency_keys (created_at);

-- One row per attempt of a job, written by the worker. The overview and the
-- failures view read recent outcomes from here rather than from procrastinate's
-- finished jobs, which have no timestamp to index.
CREATE TABLE queue.job_outcomes (
    id bigint GENERATED ALWAYS AS IDENTITY,
    job_id bigint NOT NULL,
    queue_name text NOT NULL,
    job_type text NOT NULL,
    attempt integer NOT NULL,
    status text NOT NULL,
    error_type text,
    error_message text,
    result jsonb,
    worker_id bigint,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT job_outcomes_pkey PRIMARY KEY (id),
    CONSTRAINT job_outcomes_status_check CHECK (
        status IN ('succeeded', 'failed', 'retried', 'interrupted', 'rate_limited', 'cancelled',
                   'aborted', 'rescued')
    ),
    CONSTRAINT job_outcomes_attempt_check CHECK (attempt >= 1)
);
CREATE INDEX job_outcomes_job_id_idx ON queue.job_outcomes (job_id, attempt);
-- Serves the overview's "last hour" counts (index-only) and retention's scan of
-- old outcomes, both per queue.
CREATE INDEX job_outcomes_queue_name_finished_at_idx
    ON queue.job_outcomes (queue_name, finished_at) INCLUDE (status);

-- Canonical name of a queue: the old service's names (money-queue, ...) are aliases.
CREATE FUNCTION queue.canonical_queue_name(name text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN regexp_replace(name, '-queue$', '');

-- The key a template renders for a payload, or NULL when a field is missing.
CREATE FUNCTION queue.render_idempotency_key(template text, data jsonb, at timestamptz)
    RETURNS text
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    -- Literal text between placeholders; there is one more literal than placeholders.
    literals text[] := regexp_split_to_array(template, '\{[^}]*\}');
    placeholder text[];
    alternative text;
    value text;
    position integer := 1;
    result text := literals[1];
BEGIN
    FOR placeholder IN SELECT regexp_matches(template, '\{([^}]*)\}', 'g') LOOP
        value := NULL;
        FOREACH alternative IN ARRAY string_to_array(placeholder[1], '|') LOOP
            value := CASE alternative
                WHEN 'date' THEN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')
                WHEN 'hour' THEN to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24')
                ELSE nullif(data ->> alternative, '')
            END;
            EXIT WHEN value IS NOT NULL;
        END LOOP;
        IF value IS NULL THEN
            RETURN NULL;
        END IF;
        position := position + 1;
        result := result || value || literals[position];
    END LOOP;
    RETURN result;
END;
$$;

-- The placeholders of a template that a payload cannot fill ('seatId|ticketId'),
-- for error messages.
CREATE FUNCTION queue.missing_key_fields(template text, data jsonb)
    RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (
    SELECT coalesce(array_agg(p.alternatives[1] ORDER BY p.ord), '{}')
    FROM regexp_matches(template, '\{([^}]*)\}', 'g') WITH ORDINALITY AS p(alternatives, ord)
    WHERE NOT EXISTS (
        SELECT 1 FROM unnest(string_to_array(p.alternatives[1], '|')) AS a(field)
        WHERE a.field IN ('date', 'hour') OR nullif(data ->> a.field, '') IS NOT NULL
    )
);

-- A validated job of a batch, on its way to procrastinate.
CREATE TYPE queue.enqueue_row AS (
    job_index integer,
    queue_name text,
    job_type text,
    priority integer,
    run_at timestamptz,
    idempotency_key text,
    first_of_key boolean,
    args jsonb,
    error_code text,
    error_message text
);

-- The single enqueue path. Validates every job, renders idempotency keys,
-- defers the jobs with procrastinate's own defer function (whose triggers record
-- the event and NOTIFY listening workers when the caller's transaction commits)
-- and deduplicates them through the primary key of queue.idempotency_keys.
-- Errors carry SQLSTATEs of class QS (see the README) and name the bad value.
-- Internal: callers use queue.enqueue or queue.enqueue_many, which pin the
-- search_path this function resolves procrastinate's objects with.
CREATE FUNCTION queue.enqueue_jobs(jobs jsonb, label_index boolean)
    RETURNS TABLE (job_index integer, job_id bigint, duplicate boolean)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    batch queue.enqueue_row[];
    bad record;
    keyed_count bigint;
    claimed_ids bigint[];
    deferred_index integer[];
    deferred_keys text[];
    deferred_types text[];
    deferred_hashes text[];
    deferred_ids bigint[];
    enqueued_at timestamptz := now();
BEGIN
    IF jobs IS NULL OR jsonb_typeof(jobs) <> 'array' THEN
        RAISE EXCEPTION 'jobs must be a JSON array of job objects, got %',
                coalesce(jsonb_typeof(jobs), 'NULL')
            USING ERRCODE = 'QS009';
    END IF;

    -- 1. Parse and validate every job in one pass. Each row carries its first
    --    error; the checks are ordered so the message names the root cause.
    -- (The window function needs its own level: aggregates cannot contain one.)
    SELECT array_agg(v.job ORDER BY (v.job).job_index) INTO batch
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
            'meta', coalesce(nullif(e.job -> 'meta', 'null'), '{}')
                || jsonb_build_object('idempotency_key', k.key, 'enqueued_at', enqueued_at)
        ),
        CASE
            WHEN e.kind <> 'object' THEN 'QS009'
            WHEN e.unknown_field IS NOT NULL THEN 'QS009'
            WHEN q.name IS NULL THEN 'QS001'
            WHEN t.name IS NULL THEN 'QS002'
            WHEN t.queue <> q.name THEN 'QS003'
            WHEN jsonb_typeof(e.job -> 'data') IS DISTINCT FROM 'object' THEN 'QS004'
            WHEN octet_length((e.job -> 'data')::text) > 65536 THEN 'QS005'
            WHEN NOT e.priority_ok THEN 'QS007'
            WHEN NOT e.run_at_ok THEN 'QS009'
            WHEN NOT e.meta_ok THEN 'QS010'
            WHEN NOT e.key_ok THEN 'QS011'
            WHEN k.key IS NULL AND t.idempotency_key_template IS NOT NULL THEN 'QS006'
            WHEN octet_length(k.key) > 512 THEN 'QS011'
        END,
        CASE
            WHEN e.kind <> 'object' THEN format('a job must be a JSON object, got %s', e.kind)
            WHEN e.unknown_field IS NOT NULL THEN format(
                'unknown field "%s" (fields: queue, job_type, data, priority, run_at, idempotency_key, meta)',
                e.unknown_field)
            WHEN q.name IS NULL THEN format('unknown queue "%s" (queues: %s)',
                e.job ->> 'queue',
                (SELECT string_agg(name, ', ' ORDER BY name) FROM queue.queues))
            WHEN t.name IS NULL THEN format('unknown job type "%s" (job types of queue "%s": %s)',
                e.job ->> 'job_type', q.name,
                (SELECT string_agg(name, ', ' ORDER BY name) FROM queue.job_types WHERE queue = q.name))
            WHEN t.queue <> q.name THEN format('job type "%s" belongs to queue "%s", not "%s"',
                t.name, t.queue, q.name)
            WHEN jsonb_typeof(e.job -> 'data') IS DISTINCT FROM 'object' THEN format(
                'data must be a JSON object, got %s', coalesce(jsonb_typeof(e.job -> 'data'), 'nothing'))
            WHEN octet_length((e.job -> 'data')::text) > 65536 THEN format(
                'data is %s bytes, more than the limit of 65536', octet_length((e.job -> 'data')::text))
            WHEN NOT e.priority_ok THEN format('priority must be an integer from 1 to 10, got %s',
                e.job -> 'priority')
            WHEN NOT e.run_at_ok THEN format('run_at must be an ISO 8601 timestamp, got %s',
                e.job -> 'run_at')
            WHEN NOT e.meta_ok THEN format('meta must be a JSON object, got %s', jsonb_typeof(e.job -> 'meta'))
            WHEN NOT e.key_ok THEN format('idempotency_key must be a string of 1 to 512 bytes, got %s',
                left((e.job -> 'idempotency_key')::text, 80))
            WHEN k.key IS NULL AND t.idempotency_key_template IS NOT NULL THEN format(
                'job type "%s" needs data field(s) %s for its idempotency key "%s" (or pass idempotency_key)',
                t.name,
                (SELECT string_agg(format('"%s"', replace(m, '|', '" or "')), ', ')
                 FROM unnest(queue.missing_key_fields(t.idempotency_key_template, e.job -> 'data')) AS m),
                t.idempotency_key_template)
            WHEN octet_length(k.key) > 512 THEN format(
                'idempotency key rendered from "%s" is %s bytes, more than 512; pass a shorter idempotency_key',
                t.idempotency_key_template, octet_length(k.key))
        END
    )::queue.enqueue_row AS job
    FROM (
        SELECT
            j.job,
            j.ord,
            jsonb_typeof(j.job) AS kind,
            (SELECT min(f) FROM jsonb_object_keys(CASE WHEN jsonb_typeof(j.job) = 'object' THEN j.job END) AS f
             WHERE f NOT IN ('queue', 'job_type', 'data', 'priority', 'run_at', 'idempotency_key', 'meta')
            ) AS unknown_field,
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
                    AND octet_length(j.job ->> 'idempotency_key') BETWEEN 1 AND 512) AS key_ok
        FROM jsonb_array_elements(jobs) WITH ORDINALITY AS j(job, ord)
    ) AS e
    LEFT JOIN queue.queues AS q ON q.name = queue.canonical_queue_name(e.job ->> 'queue')
    LEFT JOIN queue.job_types AS t ON t.name = e.job ->> 'job_type'
    CROSS JOIN LATERAL (
        SELECT CASE
            WHEN NOT e.key_ok OR t.name IS NULL OR jsonb_typeof(e.job -> 'data') IS DISTINCT FROM 'object' THEN NULL
            WHEN jsonb_typeof(e.job -> 'idempotency_key') = 'string' THEN e.job ->> 'idempotency_key'
            WHEN t.idempotency_key_template IS NOT NULL THEN
                queue.render_idempotency_key(t.idempotency_key_template, e.job -> 'data', enqueued_at)
        END AS key
    ) AS k
    ) AS v;

    IF batch IS NULL THEN
        RETURN;  -- an empty array enqueues nothing
    END IF;

    SELECT b.job_index, b.error_code, b.error_message INTO bad
    FROM unnest(batch) AS b
    WHERE b.error_code IS NOT NULL
    ORDER BY b.job_index
    LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '%', CASE WHEN label_index THEN format('jobs[%s]: %s', bad.job_index, bad.error_message)
                                  ELSE bad.error_message END
            USING ERRCODE = bad.error_code;
    END IF;

    -- 2. Defer every job that may be new: those without a key and the first
    --    job of each key in the batch.
    SELECT count(*) FILTER (WHERE b.idempotency_key IS NOT NULL) INTO keyed_count
    FROM unnest(batch) AS b;

    SELECT array_agg(b.job_index ORDER BY b.job_index),
           array_agg(b.idempotency_key ORDER BY b.job_index),
           array_agg(b.job_type ORDER BY b.job_index),
           array_agg(b.args -> 'meta' ->> 'request_hash' ORDER BY b.job_index),
           procrastinate_defer_jobs_v1(array_agg(ROW(
               b.queue_name, b.job_type, b.priority, NULL, NULL, b.args, b.run_at
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
        RETURN QUERY SELECT d.job_index, d.job_id, false
            FROM unnest(deferred_index, deferred_ids) AS d(job_index, job_id);
        RETURN;
    END IF;

    -- 4. Some keys named a job already. The jobs deferred for them are not new
    --    after all: delete them (no other transaction ever saw them) and
    --    answer with the job the key names. A key taken by another job type is
    --    a caller's mistake, not a duplicate: say so rather than hand back an
    --    unrelated job.
    DELETE FROM procrastinate_jobs AS j
    USING unnest(deferred_keys, deferred_ids) AS d(key, job_id)
    WHERE j.id = d.job_id AND d.key IS NOT NULL AND d.job_id <> ALL(claimed_ids);

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

    RETURN QUERY
    SELECT b.job_index,
           CASE WHEN b.idempotency_key IS NULL THEN d.job_id ELSE k.job_id END,
           b.idempotency_key IS NOT NULL AND k.job_id IS DISTINCT FROM d.job_id
    FROM unnest(batch) AS b
    LEFT JOIN unnest(deferred_index, deferred_ids) AS d(job_index, job_id) ON d.job_index = b.job_index
    LEFT JOIN queue.idempotency_keys AS k ON k.key = b.idempotency_key
    ORDER BY b.job_index;
END;
$$;
REVOKE ALL ON FUNCTION queue.enqueue_jobs(jsonb, boolean) FROM PUBLIC;

-- Enqueue one job. Returns its id, and duplicate = true when the idempotency key
-- (given or rendered from the job type's template) already names a job.
-- SECURITY DEFINER: producers may call this without any right on the tables.
CREATE FUNCTION queue.enqueue(
    queue text,
    job_type text,
    data jsonb,
    priority integer DEFAULT NULL,
    run_at timestamptz DEFAULT NULL,
    idempotency_key text DEFAULT NULL,
    meta jsonb DEFAULT '{}'
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
       AND jsonb_typeof(enqueue.data) = 'object'
       AND (enqueue.meta IS NULL OR jsonb_typeof(enqueue.meta) = 'object')
       AND (enqueue.priority IS NULL OR enqueue.priority BETWEEN 1 AND 10)
    THEN
        SELECT t.name, t.queue, t.default_priority INTO kind
        FROM queue.job_types AS t
        WHERE t.name = enqueue.job_type
          AND t.queue = queue.canonical_queue_name(enqueue.queue)
          AND t.idempotency_key_template IS NULL;
        IF FOUND AND octet_length(enqueue.data::text) <= 65536 THEN
            RETURN QUERY SELECT (procrastinate_defer_jobs_v1(ARRAY[ROW(
                kind.queue, kind.name, coalesce(enqueue.priority, kind.default_priority), NULL, NULL,
                jsonb_build_object(
                    'data', enqueue.data,
                    'meta', coalesce(enqueue.meta, '{}')
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
            'meta', meta
        )),
        false
    ) AS r;
END;
$$;

-- Enqueue many jobs atomically: an array of objects with the fields of
-- queue.enqueue. One invalid job fails the whole call, naming its index.
CREATE FUNCTION queue.enqueue_many(jobs jsonb)
    RETURNS TABLE (job_index integer, job_id bigint, duplicate boolean)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT r.job_index, r.job_id, r.duplicate FROM queue.enqueue_jobs(jobs, true) AS r;
END;
$$;

REVOKE ALL ON FUNCTION queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.enqueue_many(jsonb) FROM PUBLIC;
