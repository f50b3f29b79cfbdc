-- 0003_pre_workers: what workers and operators need to run, retry, rescue,
-- cancel, pause and prune jobs.
--
-- Intent: workers claim jobs in batches (queue.fetch_jobs) and complete them in
-- batches with their outcome rows (queue.finish_jobs), so a job costs a fraction
-- of a statement instead of two; retries, rescues, cancels and manual retries
-- are SQL functions the CLI, the API and the periodic tasks share; retention
-- deletes in bounded batches per queue policy.
--
-- Lock impact: new objects, plus ALTER TABLE ... ADD COLUMN with constant
-- defaults on queue.queues and queue.job_outcomes (metadata-only in PG 11+).
-- Operator steps: none.

-- How long an idempotency key keeps answering "already enqueued" once its job
-- is finished. Editable per queue like the rest of the policy.
ALTER TABLE queue.queues
    ADD COLUMN idempotency_key_ttl interval NOT NULL DEFAULT '7 days',
    ADD CONSTRAINT queues_idempotency_key_ttl_check CHECK (idempotency_key_ttl >= '0');
UPDATE queue.queues SET idempotency_key_ttl = '90 days' WHERE name = 'money';
UPDATE queue.queues SET idempotency_key_ttl = '1 day' WHERE name = 'background';

-- Periodic maintenance (stalled-job rescue, retention) runs on its own queue, so
-- pausing or flooding a business queue never stops it.
INSERT INTO queue.queues (
    name, tier, max_attempts, backoff, backoff_base_s, backoff_factor, backoff_cap_s,
    backoff_jitter, keep_succeeded, keep_failed, keep_results, concurrency,
    alert_max_waiting, alert_max_oldest_age, alert_max_failed_per_hour, idempotency_key_ttl
) VALUES
    ('maintenance', 'ephemeral', 1, 'fixed', 10, 1, NULL, false,
     '0', '7 days', false, 2, 100, '10 minutes', 10, '1 day');
INSERT INTO queue.job_types (name, queue, default_priority, idempotency_key_template, keep_succeeded, provider, description) VALUES
    ('rescue-stalled-jobs', 'maintenance', 10, NULL, NULL, NULL,
     'Return jobs of workers that stopped heartbeating to their queue.'),
    ('run-retention', 'maintenance', 5, NULL, NULL, NULL,
     'Delete finished jobs, outcomes, keys, metrics and alerts past their retention.');
ANALYZE queue.queues, queue.job_types;

-- The key of the job an outcome belongs to, so a job whose key already
-- succeeded can answer with the recorded result instead of running again.
ALTER TABLE queue.job_outcomes ADD COLUMN idempotency_key text;
CREATE INDEX job_outcomes_succeeded_key_idx ON queue.job_outcomes (idempotency_key)
    WHERE status = 'succeeded' AND idempotency_key IS NOT NULL;

-- Events recorded by analytics-track. job_id is unique: a rescued or retried
-- job records its event once.
CREATE TABLE queue.analytics_events (
    id bigint GENERATED ALWAYS AS IDENTITY,
    job_id bigint NOT NULL,
    event_type text NOT NULL,
    user_id uuid,
    venue_id uuid,
    properties jsonb NOT NULL DEFAULT '{}',
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT analytics_events_pkey PRIMARY KEY (id),
    CONSTRAINT analytics_events_job_id_key UNIQUE (job_id)
);
CREATE INDEX analytics_events_occurred_at_idx ON queue.analytics_events (occurred_at);

-- Snapshots of queue.overview, written by the monitor; kept 30 days.
CREATE TABLE queue.queue_metrics (
    id bigint GENERATED ALWAYS AS IDENTITY,
    queue_name text NOT NULL,
    captured_at timestamptz NOT NULL DEFAULT now(),
    waiting bigint NOT NULL,
    scheduled bigint NOT NULL,
    running bigint NOT NULL,
    succeeded_last_hour bigint NOT NULL,
    failed_last_hour bigint NOT NULL,
    oldest_waiting_age_s double precision,
    CONSTRAINT queue_metrics_pkey PRIMARY KEY (id)
);
CREATE INDEX queue_metrics_captured_at_idx ON queue.queue_metrics (captured_at, queue_name);

-- Alerts raised by the monitor; kept 7 days.
CREATE TABLE queue.alert_history (
    id bigint GENERATED ALWAYS AS IDENTITY,
    severity text NOT NULL,
    type text NOT NULL,
    queue_name text,
    value double precision,
    threshold double precision,
    message text NOT NULL,
    channels jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_by text,
    acknowledged_at timestamptz,
    CONSTRAINT alert_history_pkey PRIMARY KEY (id),
    CONSTRAINT alert_history_severity_check CHECK (severity IN ('critical', 'warning', 'info'))
);
CREATE INDEX alert_history_created_at_idx ON queue.alert_history (created_at);

-- Wake the workers of a queue, as procrastinate's insert trigger does.
CREATE FUNCTION queue.wake_workers(queue_name text)
    RETURNS void
    LANGUAGE sql VOLATILE
RETURN pg_notify('procrastinate_queue_v1#' || queue_name, '{"type": "job_inserted", "job_id": null}');

-- Pausing takes effect at the next fetch (queue.fetch_jobs reads the flag);
-- resuming must wake the workers that went idle meanwhile.
CREATE FUNCTION queue.queues_wake_on_resume()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM queue.wake_workers(NEW.name);
    RETURN NEW;
END;
$$;
CREATE TRIGGER queues_wake_on_resume
    AFTER UPDATE OF paused ON queue.queues
    FOR EACH ROW WHEN (OLD.paused AND NOT NEW.paused)
    EXECUTE FUNCTION queue.queues_wake_on_resume();

-- Claim up to max_jobs due jobs of one queue for a worker, in priority order.
-- Same rules as procrastinate_fetch_job_v2 (a job whose lock is held by a
-- running job, or by an earlier waiting one, is skipped), but many jobs per
-- statement. Nothing is claimed while the queue is paused. Rows come back
-- unordered; the caller sorts them by (priority desc, id).
CREATE FUNCTION queue.fetch_jobs(queue_name text, worker_id bigint, max_jobs integer)
    RETURNS SETOF procrastinate_jobs
    LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
    -- plpgsql rather than SQL: its plans are cached per session, while a SQL
    -- function's statements are planned again at every call (~1 ms here).
    IF coalesce((SELECT q.paused FROM queue.queues AS q WHERE q.name = fetch_jobs.queue_name), false) THEN
        RETURN;
    END IF;
    RETURN QUERY
    UPDATE procrastinate_jobs AS j
    SET status = 'doing', worker_id = fetch_jobs.worker_id
    WHERE j.id IN (
        SELECT jobs.id
        FROM procrastinate_jobs AS jobs
        WHERE jobs.status = 'todo'
          AND jobs.queue_name = fetch_jobs.queue_name
          AND (jobs.scheduled_at IS NULL OR jobs.scheduled_at <= now())
          -- A job whose lock is held by a running job, or by an earlier or
          -- higher-priority waiting one, waits: so at most one job per lock is
          -- ever a candidate, and a batch never claims two of one lock.
          AND NOT EXISTS (
              SELECT 1 FROM procrastinate_jobs AS other
              WHERE jobs.lock IS NOT NULL
                AND other.lock = jobs.lock
                AND (other.status = 'doing'
                     OR (other.status = 'todo'
                         AND (other.priority > jobs.priority
                              OR (other.priority = jobs.priority AND other.id < jobs.id))))
          )
        ORDER BY jobs.priority DESC, jobs.id ASC
        LIMIT max_jobs
        FOR UPDATE OF jobs SKIP LOCKED
    )
    RETURNING j.*;
END;
$$;

-- Complete a batch of attempts: set each job's final state (or delete it when
-- its queue deletes succeeded jobs), count the attempt, and record the outcome,
-- all in one statement. Only jobs still running for the worker that claimed
-- them are touched (worker_id NULL means that worker's row was pruned, not that
-- another took the job): a job rescued and claimed again meanwhile belongs to
-- its new worker. Returns how many jobs were completed.
CREATE FUNCTION queue.finish_jobs(
    job_ids bigint[],
    statuses procrastinate_job_status[],
    error_types text[],
    error_messages text[],
    results jsonb[],
    started_at timestamptz[],
    finished_at timestamptz[],
    worker_ids bigint[]
)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    completed bigint;
BEGIN
    WITH attempt AS (
        SELECT a.*, j.queue_name, j.task_name, j.attempts + 1 AS attempt,
               j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
               coalesce(q.keep_results, false) AS keep_results,
               a.status = 'succeeded'
                   AND coalesce(t.keep_succeeded, q.keep_succeeded) = '0' AS delete_job
        FROM unnest(job_ids, statuses, error_types, error_messages, results, started_at, finished_at, worker_ids)
            AS a(job_id, status, error_type, error_message, result, started_at, finished_at, worker_id)
        JOIN procrastinate_jobs AS j
            ON j.id = a.job_id AND j.status = 'doing' AND (j.worker_id IS NULL OR j.worker_id = a.worker_id)
        LEFT JOIN queue.queues AS q ON q.name = j.queue_name
        LEFT JOIN queue.job_types AS t ON t.name = j.task_name
    ),
    deleted AS (
        DELETE FROM procrastinate_jobs AS j
        USING attempt
        WHERE j.id = attempt.job_id AND attempt.delete_job AND j.status = 'doing'
          AND (j.worker_id IS NULL OR j.worker_id = attempt.worker_id)
        RETURNING j.id
    ),
    updated AS (
        UPDATE procrastinate_jobs AS j
        SET status = attempt.status, abort_requested = false, attempts = j.attempts + 1
        FROM attempt
        WHERE j.id = attempt.job_id AND NOT attempt.delete_job AND j.status = 'doing'
          AND (j.worker_id IS NULL OR j.worker_id = attempt.worker_id)
        RETURNING j.id
    ),
    done AS (
        SELECT id FROM deleted UNION ALL SELECT id FROM updated
    ),
    recorded AS (
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            result, worker_id, started_at, finished_at, idempotency_key
        )
        SELECT attempt.job_id, attempt.queue_name, attempt.task_name, attempt.attempt,
               attempt.status::text, attempt.error_type, attempt.error_message,
               CASE WHEN attempt.keep_results THEN attempt.result END,
               attempt.worker_id, attempt.started_at, attempt.finished_at,
               attempt.idempotency_key
        FROM attempt
        JOIN done ON done.id = attempt.job_id
        RETURNING 1
    )
    SELECT count(*) INTO completed FROM recorded;
    RETURN completed;
END;
$$;

-- Put a running job back in its queue after an attempt: a retry (counted), or
-- an attempt that did not really happen (interrupted by shutdown, rate-limited:
-- not counted). A job whose abort was requested fails instead. Records the
-- attempt's outcome. Returns the job's new status.
CREATE FUNCTION queue.requeue_job(
    job_id bigint,
    retry_at timestamptz,
    count_attempt boolean,
    outcome text,
    error_type text,
    error_message text,
    started_at timestamptz,
    finished_at timestamptz,
    new_priority integer DEFAULT NULL,
    new_queue_name text DEFAULT NULL,
    new_lock text DEFAULT NULL,
    claimed_by bigint DEFAULT NULL
)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job procrastinate_jobs;
    new_status procrastinate_job_status;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j
    WHERE j.id = requeue_job.job_id AND j.status = 'doing'
      AND (j.worker_id IS NULL OR claimed_by IS NULL OR j.worker_id = claimed_by)
    FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;  -- rescued meanwhile by another process: not ours any more
    END IF;
    new_status := CASE WHEN job.abort_requested THEN 'failed' ELSE 'todo' END;
    UPDATE procrastinate_jobs AS j
    SET status = new_status,
        attempts = j.attempts + CASE WHEN count_attempt OR new_status = 'failed' THEN 1 ELSE 0 END,
        scheduled_at = CASE WHEN new_status = 'todo' THEN requeue_job.retry_at ELSE j.scheduled_at END,
        priority = coalesce(new_priority, j.priority),
        queue_name = coalesce(new_queue_name, j.queue_name),
        lock = coalesce(new_lock, j.lock)
    WHERE j.id = requeue_job.job_id;
    INSERT INTO queue.job_outcomes (
        job_id, queue_name, job_type, attempt, status, error_type, error_message,
        worker_id, started_at, finished_at, idempotency_key
    ) VALUES (
        job.id, job.queue_name, job.task_name, job.attempts + 1,
        CASE WHEN new_status = 'failed' THEN 'failed' ELSE outcome END,
        error_type, error_message, job.worker_id, started_at, finished_at,
        job.args -> 'meta' ->> 'idempotency_key'
    );
    RETURN new_status::text;
END;
$$;

-- Return to their queue the running jobs of workers that stopped heartbeating
-- (or were pruned), counting the lost attempt; fail those whose queue's
-- attempts are spent. A job whose queueing lock is now held by a waiting twin
-- is cancelled in favour of the twin instead of crashing the rescue. Skips jobs
-- another rescue holds (SKIP LOCKED), so concurrent rescues share the work.
CREATE FUNCTION queue.rescue_stalled_jobs(stalled_after_s double precision)
    RETURNS TABLE (job_id bigint, queue_name text, outcome text)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job record;
BEGIN
    FOR job IN
        SELECT j.id, j.queue_name, j.task_name, j.attempts, j.worker_id,
               j.args -> 'meta' ->> 'idempotency_key' AS idempotency_key,
               -- A job may carry its own limit (the API's options.attempts).
               coalesce(CASE WHEN j.args -> 'meta' ->> 'max_attempts' ~ '^[0-9]{1,3}$'
                             THEN (j.args -> 'meta' ->> 'max_attempts')::integer END,
                        q.max_attempts, 1) AS max_attempts
        FROM procrastinate_jobs AS j
        LEFT JOIN procrastinate_workers AS w ON w.id = j.worker_id
        LEFT JOIN queue.queues AS q ON q.name = j.queue_name
        WHERE j.status = 'doing'
          AND (j.worker_id IS NULL OR w.last_heartbeat < now() - make_interval(secs => stalled_after_s))
        ORDER BY j.id
        FOR UPDATE OF j SKIP LOCKED
    LOOP
        job_id := job.id;
        queue_name := job.queue_name;
        IF job.attempts + 1 >= job.max_attempts THEN
            UPDATE procrastinate_jobs SET status = 'failed', attempts = attempts + 1 WHERE id = job.id;
            outcome := 'failed';
        ELSE
            BEGIN
                UPDATE procrastinate_jobs
                SET status = 'todo', attempts = attempts + 1, scheduled_at = NULL
                WHERE id = job.id;
                outcome := 'rescued';
            EXCEPTION WHEN unique_violation THEN
                UPDATE procrastinate_jobs SET status = 'cancelled', attempts = attempts + 1 WHERE id = job.id;
                outcome := 'cancelled';
            END;
        END IF;
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            worker_id, started_at, finished_at, idempotency_key
        ) VALUES (
            job.id, job.queue_name, job.task_name, job.attempts + 1, outcome, 'WorkerLost',
            CASE outcome
                WHEN 'rescued' THEN format('worker %s stopped heartbeating during attempt %s; returned to the queue',
                                           coalesce(job.worker_id::text, '(pruned)'), job.attempts + 1)
                WHEN 'failed' THEN format('worker %s stopped heartbeating during attempt %s of %s; attempts spent',
                                          coalesce(job.worker_id::text, '(pruned)'), job.attempts + 1, job.max_attempts)
                ELSE 'worker stopped heartbeating; a waiting job with the same queueing lock replaces this one'
            END,
            job.worker_id, now(), now(), job.idempotency_key
        );
        IF outcome = 'rescued' THEN
            PERFORM queue.wake_workers(job.queue_name);
        END IF;
        RETURN NEXT;
    END LOOP;
END;
$$;

-- Cancel a job: a waiting job is cancelled at once; a running one is asked to
-- abort (its worker cancels an async task, a sync task sees should_abort).
-- Returns the new state: 'cancelled' or 'aborting'.
CREATE FUNCTION queue.cancel_job(job_id bigint)
    RETURNS text
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job procrastinate_jobs;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j WHERE j.id = cancel_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', cancel_job.job_id USING ERRCODE = 'QS013';
    END IF;
    IF job.status = 'todo' THEN
        UPDATE procrastinate_jobs SET status = 'cancelled' WHERE id = job.id;
        INSERT INTO queue.job_outcomes (
            job_id, queue_name, job_type, attempt, status, error_type, error_message,
            started_at, finished_at, idempotency_key
        ) VALUES (
            job.id, job.queue_name, job.task_name, job.attempts + 1, 'cancelled', 'Cancelled',
            'cancelled while waiting', now(), now(), job.args -> 'meta' ->> 'idempotency_key'
        );
        RETURN 'cancelled';
    ELSIF job.status = 'doing' THEN
        UPDATE procrastinate_jobs SET abort_requested = true WHERE id = job.id;
        RETURN 'aborting';
    END IF;
    RAISE EXCEPTION 'job % is % and cannot be cancelled', job.id, job.status USING ERRCODE = 'QS012';
END;
$$;

-- Requeue a failed job with a fresh set of attempts (an operator retries after
-- fixing the cause). Refuses jobs in any other state.
CREATE FUNCTION queue.retry_job(job_id bigint)
    RETURNS void
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    job procrastinate_jobs;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j WHERE j.id = retry_job.job_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', retry_job.job_id USING ERRCODE = 'QS013';
    END IF;
    IF job.status <> 'failed' THEN
        RAISE EXCEPTION 'job % is %; only failed jobs can be retried', job.id, job.status USING ERRCODE = 'QS012';
    END IF;
    BEGIN
        UPDATE procrastinate_jobs
        SET status = 'todo', attempts = 0, scheduled_at = NULL, abort_requested = false
        WHERE id = job.id;
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'job % cannot be retried: a waiting job holds its queueing lock %',
            job.id, job.queueing_lock USING ERRCODE = 'QS012';
    END;
    PERFORM queue.wake_workers(job.queue_name);
END;
$$;

-- Requeue every failed job of a queue (those whose queueing lock is free).
-- Returns how many were requeued.
CREATE FUNCTION queue.retry_failed_jobs(queue_name text)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    retried bigint;
BEGIN
    WITH failed AS (
        SELECT j.id FROM procrastinate_jobs AS j
        WHERE j.status = 'failed' AND j.queue_name = queue.canonical_queue_name(retry_failed_jobs.queue_name)
          AND (j.queueing_lock IS NULL OR NOT EXISTS (
              SELECT 1 FROM procrastinate_jobs AS w WHERE w.queueing_lock = j.queueing_lock AND w.status = 'todo'))
        ORDER BY j.id
        FOR UPDATE OF j SKIP LOCKED
    ),
    requeued AS (
        UPDATE procrastinate_jobs AS j
        SET status = 'todo', attempts = 0, scheduled_at = NULL, abort_requested = false
        FROM failed WHERE j.id = failed.id
        RETURNING 1
    )
    SELECT count(*) INTO retried FROM requeued;
    IF retried > 0 THEN
        PERFORM queue.wake_workers(queue.canonical_queue_name(retry_failed_jobs.queue_name));
    END IF;
    RETURN retried;
END;
$$;

-- Delete what retention policy lets go, at most batch_size rows per table and
-- queue per call, so each call is a short transaction; call it again until every count
-- is below batch_size (`queue-service retention` does). Per queue:
--   jobs finished (succeeded, failed, cancelled, aborted) longer ago than the
--     queue's keep_succeeded (a job type's override wins) or keep_failed, with
--     their events and outcomes. A job's finish time is its final outcome's.
--   outcomes whose job is gone (deleted on success, cleared) after 24 hours;
--   idempotency keys older than the queue's idempotency_key_ttl whose job is
--     no longer waiting or running;
-- and everywhere: queue_metrics after 30 days, alert_history after 7 days.
CREATE FUNCTION queue.run_retention(batch_size integer DEFAULT 10000)
    RETURNS TABLE (table_name text, deleted bigint)
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    policy record;
    expired bigint[];
    n_jobs bigint := 0;
    n_events bigint := 0;
    n_outcomes bigint := 0;
    n_keys bigint := 0;
    n_metrics bigint;
    n_alerts bigint;
    n bigint;
BEGIN
    IF batch_size IS NULL OR batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be a positive integer, got %', batch_size USING ERRCODE = '22023';
    END IF;

    FOR policy IN
        SELECT q.name, q.keep_succeeded, q.keep_failed, q.idempotency_key_ttl,
               least(q.keep_succeeded, q.keep_failed,
                     coalesce((SELECT min(t.keep_succeeded) FROM queue.job_types AS t WHERE t.queue = q.name),
                              q.keep_succeeded)) AS shortest
        FROM queue.queues AS q
        ORDER BY q.name
    LOOP
        -- Final outcomes old enough for the shortest keep of this queue, then
        -- the exact rule per job; the newest outcome of a job decides.
        SELECT array_agg(c.job_id) INTO expired
        FROM (
            SELECT o.job_id
            FROM queue.job_outcomes AS o
            JOIN procrastinate_jobs AS j ON j.id = o.job_id
            LEFT JOIN queue.job_types AS t ON t.name = j.task_name
            WHERE o.queue_name = policy.name
              AND o.finished_at < now() - policy.shortest
              AND o.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
              AND j.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
              AND o.finished_at < now() - CASE WHEN j.status = 'succeeded'
                                               THEN coalesce(t.keep_succeeded, policy.keep_succeeded)
                                               ELSE policy.keep_failed END
              AND NOT EXISTS (SELECT 1 FROM queue.job_outcomes AS newer
                              WHERE newer.job_id = o.job_id AND newer.finished_at > o.finished_at)
            ORDER BY o.finished_at
            LIMIT batch_size
        ) AS c;

        IF expired IS NOT NULL THEN
            DELETE FROM procrastinate_events WHERE procrastinate_events.job_id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_events := n_events + n;
            DELETE FROM queue.job_outcomes WHERE job_outcomes.job_id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_outcomes := n_outcomes + n;
            DELETE FROM procrastinate_jobs WHERE id = ANY (expired);
            GET DIAGNOSTICS n = ROW_COUNT;
            n_jobs := n_jobs + n;
        END IF;

        DELETE FROM queue.job_outcomes
        WHERE id IN (
            SELECT o.id FROM queue.job_outcomes AS o
            WHERE o.queue_name = policy.name
              AND o.finished_at < now() - interval '24 hours'
              AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j WHERE j.id = o.job_id)
            LIMIT batch_size
        );
        GET DIAGNOSTICS n = ROW_COUNT;
        n_outcomes := n_outcomes + n;

        DELETE FROM queue.idempotency_keys
        WHERE key IN (
            SELECT k.key FROM queue.idempotency_keys AS k
            JOIN queue.job_types AS t ON t.name = k.job_type AND t.queue = policy.name
            WHERE k.created_at < now() - policy.idempotency_key_ttl
              AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs AS j
                              WHERE j.id = k.job_id AND j.status IN ('todo', 'doing'))
            LIMIT batch_size
        );
        GET DIAGNOSTICS n = ROW_COUNT;
        n_keys := n_keys + n;
    END LOOP;

    DELETE FROM queue.queue_metrics
    WHERE id IN (SELECT m.id FROM queue.queue_metrics AS m
                 WHERE m.captured_at < now() - interval '30 days' LIMIT batch_size);
    GET DIAGNOSTICS n_metrics = ROW_COUNT;
    DELETE FROM queue.alert_history
    WHERE id IN (SELECT a.id FROM queue.alert_history AS a
                 WHERE a.created_at < now() - interval '7 days' LIMIT batch_size);
    GET DIAGNOSTICS n_alerts = ROW_COUNT;

    RETURN QUERY VALUES
        ('procrastinate_jobs', n_jobs),
        ('procrastinate_events', n_events),
        ('job_outcomes', n_outcomes),
        ('idempotency_keys', n_keys),
        ('queue_metrics', n_metrics),
        ('alert_history', n_alerts);
END;
$$;

-- Only the service role runs these; queue_producer and queue_reader have USAGE
-- on the schema, so PUBLIC's default EXECUTE must go.
REVOKE ALL ON FUNCTION queue.wake_workers(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.fetch_jobs(text, bigint, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.finish_jobs(bigint[], procrastinate_job_status[], text[], text[], jsonb[], timestamptz[], timestamptz[], bigint[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.requeue_job(bigint, timestamptz, boolean, text, text, text, timestamptz, timestamptz, integer, text, text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.rescue_stalled_jobs(double precision) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.cancel_job(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.retry_job(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.retry_failed_jobs(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION queue.run_retention(integer) FROM PUBLIC;
