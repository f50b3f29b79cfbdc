-- Why job `job_id` is not running, one row per reason, most decisive first:
--   running           it runs on a live worker (since when, abort requested)
--   stalled           it is 'doing' but its worker stopped heartbeating: the
--                     rescue returns it to its queue
--   succeeded, cancelled, aborted
--                     it has finished
--   failed            dead-lettered: its last error and attempt count
-- and for a waiting job, every one that applies:
--   dependencies      it waits for jobs it depends on: how many ended, and the
--                     first one it still waits for (blocking_job_id)
--   batch             it is a callback of a batch that has not called it yet
--   scheduled         its run time is later (until = that time)
--   queue_paused      its queue is paused
--   lock_held         another job holds its serial lock: one running, or one
--                     waiting ahead of it (the rule of queue.fetch_jobs)
--                     (blocking_job_id)
--   breaker_open      its provider's circuit breaker refuses calls until
--                     retry_at, beyond its run time
--   rate_limited      its bucket or the bucket's group is stopped, held
--                     after a Retry-After, out of tokens (until = the next
--                     token) or at its concurrency, beyond its run time
--                     (both from queue.admission, the provider gate's rule)
--   no_worker         no worker that heartbeated within stalled_after_s
--                     serves its queue
--   waiting           due and nothing above holds it: the due jobs ahead of
--                     it (by priority, then id)
--   retrying          it failed before and waits for another attempt: the
--                     last error
-- Raises QS013 when the job does not exist, like queue.cancel_job.
-- SECURITY DEFINER: queue_reader may call it without any right on the tables.
CREATE OR REPLACE FUNCTION queue.explain_job(job_id bigint, stalled_after_s double precision DEFAULT 30)
    RETURNS TABLE (reason text, detail text, until timestamptz, blocking_job_id bigint)
    LANGUAGE plpgsql STABLE SECURITY DEFINER
    SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
    at timestamptz := now();
    job procrastinate_jobs;
    kind queue.job_types;
    policy queue.queues;
    has_policy boolean;
    last_error record;
    blocker record;
    checked record;
    breaker_name text;
    workers_alive bigint;
    last_heartbeat timestamptz;
    worker_heartbeat timestamptz;
    runs_at timestamptz;
    due boolean;
    held boolean := false;
    ahead bigint;
    running bigint;
    max_attempts integer;
    started timestamptz;
    attempts_text text;
    error_text text;
BEGIN
    SELECT * INTO job FROM procrastinate_jobs AS j WHERE j.id = explain_job.job_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'job % does not exist', explain_job.job_id USING ERRCODE = 'QS013';
    END IF;
    SELECT * INTO kind FROM queue.job_types AS t WHERE t.name = job.task_name;
    SELECT * INTO policy FROM queue.queues AS q WHERE q.name = job.queue_name;
    has_policy := FOUND;
    SELECT e.error_type, e.error_message INTO last_error FROM queue.last_error(job.id) AS e;
    error_text := CASE WHEN last_error.error_message IS NOT NULL THEN
        concat_ws(': ', last_error.error_type,
                  CASE WHEN length(last_error.error_message) > 500
                       THEN left(last_error.error_message, 500) || '…'
                       ELSE last_error.error_message END)
    END;
    max_attempts := coalesce(
        CASE WHEN job.args -> 'meta' ->> 'max_attempts' ~ '^[0-9]{1,3}$'
             THEN (job.args -> 'meta' ->> 'max_attempts')::integer END,
        policy.max_attempts);
    attempts_text := format('%s attempt%s', job.attempts, CASE WHEN job.attempts = 1 THEN '' ELSE 's' END);

    -- Running or finished: one row says it all.
    IF job.status = 'doing' THEN
        SELECT w.last_heartbeat INTO worker_heartbeat
        FROM procrastinate_workers AS w WHERE w.id = job.worker_id;
        started := queue.job_started_at(job.id);
        IF worker_heartbeat IS NULL OR worker_heartbeat <= at - make_interval(secs => stalled_after_s) THEN
            reason := 'stalled';
            detail := format('running, but %s; the rescue task returns it to queue %s',
                CASE WHEN worker_heartbeat IS NULL THEN 'its worker is gone'
                     ELSE format('its worker %s last heartbeated at %s', job.worker_id,
                                 queue.describe_moment(worker_heartbeat)) END,
                job.queue_name);
        ELSE
            reason := 'running';
            detail := format('running on worker %s of queue %s since %s%s',
                job.worker_id, job.queue_name,
                coalesce(queue.describe_moment(started), 'an unknown time'),
                CASE WHEN job.abort_requested THEN '; abort requested' ELSE '' END);
        END IF;
        until := NULL;
        blocking_job_id := NULL;
        RETURN NEXT;
        RETURN;
    ELSIF job.status = 'failed' THEN
        reason := 'failed';
        detail := CASE WHEN error_text IS NOT NULL
            THEN format('failed with %s after %s', error_text, attempts_text)
            ELSE format('failed after %s (no error recorded)', attempts_text) END;
        RETURN NEXT;
        RETURN;
    ELSIF job.status <> 'todo' THEN
        -- succeeded, cancelled, aborted (and procrastinate's legacy 'aborting').
        reason := CASE WHEN job.status = 'aborting' THEN 'aborted' ELSE job.status::text END;
        detail := format('%s at %s', reason,
            coalesce(queue.describe_moment(queue.job_finished_at(job.id)),
                     'an unknown time'))
            || CASE WHEN job.status = 'succeeded' THEN format(' after %s', attempts_text) ELSE '' END;
        RETURN NEXT;
        RETURN;
    END IF;

    -- Waiting: every reason that applies. A limit that lifts before the job's
    -- run time does not hold it back.
    -- A held job has no run time yet: its limits are judged as of now.
    runs_at := greatest(coalesce(nullif(job.scheduled_at, 'infinity'), at), at);
    due := job.scheduled_at IS NULL OR job.scheduled_at <= at;

    -- Held ('infinity') by its dependencies or its batch.
    IF job.scheduled_at = 'infinity' THEN
        SELECT count(*) AS total, count(*) FILTER (WHERE d.outcome IS NOT NULL) AS ended,
               (array_agg(d.depends_on ORDER BY d.depends_on) FILTER (WHERE d.outcome IS NULL))[1] AS first_open,
               w.run_at
        INTO checked
        FROM queue.job_waits AS w
        JOIN queue.job_dependencies AS d ON d.job_id = w.job_id
        WHERE w.job_id = job.id
        GROUP BY w.run_at;
        IF FOUND THEN
            SELECT j.status INTO blocker FROM procrastinate_jobs AS j WHERE j.id = checked.first_open;
            reason := 'dependencies';
            detail := format('waits for job %s (%s); %s of its %s dependencies ended%s',
                checked.first_open,
                CASE blocker.status WHEN 'todo' THEN 'waiting' WHEN 'doing' THEN 'running'
                     ELSE coalesce(blocker.status::text, 'gone') END,
                checked.ended, checked.total,
                CASE WHEN checked.run_at IS NOT NULL
                     THEN format('; then runs at %s', queue.describe_moment(checked.run_at)) ELSE '' END);
            until := NULL;
            blocking_job_id := checked.first_open;
            RETURN NEXT;
            held := true;
        END IF;
        SELECT b.id, b.total, b.succeeded + b.failed + b.cancelled AS ended, b.complete_job_id = job.id AS on_complete
        INTO checked
        FROM queue.batches AS b
        WHERE b.complete_job_id = job.id OR b.failure_job_id = job.id
        LIMIT 1;
        IF FOUND THEN
            reason := 'batch';
            detail := format('%s callback of batch %s: %s of its %s jobs ended',
                CASE WHEN checked.on_complete THEN 'on_complete' ELSE 'on_failure' END,
                checked.id, checked.ended, checked.total);
            until := NULL;
            blocking_job_id := NULL;
            RETURN NEXT;
            held := true;
        END IF;
    END IF;

    IF NOT due AND job.scheduled_at <> 'infinity' THEN
        reason := 'scheduled';
        detail := format('scheduled for later: runs at %s', queue.describe_moment(job.scheduled_at));
        until := job.scheduled_at;
        blocking_job_id := NULL;
        RETURN NEXT;
        held := true;
    END IF;

    IF policy.paused THEN
        reason := 'queue_paused';
        detail := format('queue %s is paused', job.queue_name);
        until := NULL;
        blocking_job_id := NULL;
        RETURN NEXT;
        held := true;
    END IF;

    IF job.lock IS NOT NULL THEN
        SELECT other.id, other.status INTO blocker
        FROM procrastinate_jobs AS other
        WHERE other.lock = job.lock
          AND other.id <> job.id
          AND (other.status = 'doing'
               OR (other.status = 'todo'
                   AND (other.priority > job.priority
                        OR (other.priority = job.priority AND other.id < job.id))))
        ORDER BY other.status = 'doing' DESC, other.priority DESC, other.id
        LIMIT 1;
        IF FOUND THEN
            reason := 'lock_held';
            detail := format('serial lock %L is held by job %s, which %s', job.lock, blocker.id,
                CASE WHEN blocker.status = 'doing' THEN 'is running' ELSE 'waits ahead of it' END);
            until := NULL;
            blocking_job_id := blocker.id;
            RETURN NEXT;
            held := true;
        END IF;
    END IF;

    -- What the provider gate would say at the job's run time (queue.admission,
    -- the gate's own rule). In-flight calls say nothing of a later run time.
    breaker_name := queue.breaker_name(kind.provider, job.args -> 'data' ->> 'url');
    FOR checked IN SELECT * FROM queue.admission(kind.bucket, breaker_name, runs_at) LOOP
        CONTINUE WHEN checked.verdict = 'go' OR (checked.verdict = 'concurrency' AND NOT due);
        until := checked.until;
        blocking_job_id := NULL;
        IF checked.verdict = 'breaker_open' THEN
            reason := 'breaker_open';
            detail := CASE WHEN checked.breaker_state = 'open'
                THEN format('the %s circuit breaker is open until %s, after %s failure%s',
                            checked.subject, queue.describe_moment(checked.until), checked.failures,
                            CASE WHEN checked.failures = 1 THEN '' ELSE 's' END)
                ELSE format('the %s circuit breaker is half-open: one probe call decides, by %s',
                            checked.subject, queue.describe_moment(checked.until))
                END;
        ELSE
            reason := 'rate_limited';
            detail := CASE checked.verdict
                WHEN 'stopped' THEN format(
                    'rate limit %s is stopped (emergency stop); calls wait until it is resumed',
                    checked.subject)
                WHEN 'held' THEN format(
                    'rate limit %s is held until %s (the provider asked to slow down)',
                    checked.subject, queue.describe_moment(checked.until))
                WHEN 'tokens' THEN format('rate limit %s has no token until %s',
                    checked.subject, queue.describe_moment(checked.until))
                ELSE format('rate limit %s is at its limit of %s concurrent calls',
                    checked.subject, checked.max_concurrent)
                END;
        END IF;
        RETURN NEXT;
        held := true;
    END LOOP;

    SELECT count(*) FILTER (WHERE w.last_heartbeat > at - make_interval(secs => stalled_after_s)),
           max(w.last_heartbeat)
    INTO workers_alive, last_heartbeat
    FROM queue.worker_queues AS wq
    JOIN procrastinate_workers AS w ON w.id = wq.worker_id
    WHERE wq.queue_name = job.queue_name;
    IF workers_alive = 0 THEN
        reason := 'no_worker';
        detail := format('no worker is listening to queue %s', job.queue_name)
            || CASE
                WHEN NOT has_policy THEN ' (it is not in queue.queues, so no worker starts for it)'
                WHEN last_heartbeat IS NOT NULL
                    THEN format(' (the last one heartbeated at %s)', queue.describe_moment(last_heartbeat))
                ELSE ''
               END;
        until := NULL;
        blocking_job_id := NULL;
        RETURN NEXT;
        held := true;
    END IF;

    IF NOT held THEN
        SELECT count(*) FILTER (
                   WHERE j.status = 'todo'
                     AND (j.scheduled_at IS NULL OR j.scheduled_at <= at)
                     AND (j.priority > job.priority OR (j.priority = job.priority AND j.id < job.id))),
               count(*) FILTER (WHERE j.status = 'doing')
        INTO ahead, running
        FROM procrastinate_jobs AS j
        WHERE j.queue_name = job.queue_name AND j.status IN ('todo', 'doing');
        reason := 'waiting';
        detail := CASE WHEN ahead = 0
            THEN format('waiting: next in line in queue %s (%s running)', job.queue_name, running)
            ELSE format('waiting: %s due job%s ahead of it in queue %s (%s running)',
                        ahead, CASE WHEN ahead = 1 THEN '' ELSE 's' END, job.queue_name, running)
            END;
        until := NULL;
        blocking_job_id := NULL;
        RETURN NEXT;
    END IF;

    IF job.attempts > 0 THEN
        reason := 'retrying';
        detail := format('retrying: %s of %s failed%s', attempts_text, coalesce(max_attempts::text, '?'),
            CASE WHEN error_text IS NOT NULL THEN format(', the last with %s', error_text) ELSE '' END);
        until := NULL;
        blocking_job_id := NULL;
        RETURN NEXT;
    END IF;
END;
$$;
REVOKE ALL ON FUNCTION queue.explain_job(bigint, double precision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION queue.explain_job(bigint, double precision) TO queue_reader;
