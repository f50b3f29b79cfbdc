-- 0029_pre_workflows: dependencies, batches, unique modes and per-key concurrency.
--
-- Intent:
-- * A job may wait for other jobs (queue.job_dependencies): it is deferred
--   with scheduled_at = 'infinity', which no claim takes, and a row of
--   queue.job_waits counts what it still waits for and keeps the run time it
--   asked for. queue.resolve_dependencies counts each dependency down as it
--   ends; the last one sets the job's run time back. Each dependency says what
--   its failure does: 'fail' fails the dependant (a cancel cancels it), 'run'
--   runs it anyway with the outcomes recorded here.
-- * A batch (queue.batches) is a group of jobs counted as they end, with
--   optional callback jobs deferred at the batch's creation and held the same
--   way: on_complete is released when every job has ended, on_failure when the
--   first one fails (and cancelled when the batch ends without a failure).
-- * queue.enqueue_row carries the new per-job fields: the concurrency key, the
--   dependencies, and the unique modes (unique_while, on_duplicate).
-- * queue.queues.key_concurrency: at most this many running jobs per
--   concurrency key of the queue, across every process; NULL: no limit.
-- No foreign keys to procrastinate_jobs: its rows are deleted in bulk by
-- completions and retention, and a per-row check there would cost every job.
-- Retention removes rows whose job is gone.
--
-- Lock impact: new tables; ADD COLUMN without a default on queue.queues (four
-- rows); ALTER TYPE ADD ATTRIBUTE, a catalog change.
-- queue.enqueue gains concurrency_key, depends_on, unique_while and
-- on_duplicate: a new signature, so the old function is dropped here and
-- sql/functions/enqueue.sql creates the new one in the same transaction.
-- Operator steps: none.

DROP FUNCTION IF EXISTS queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb, text, text);

CREATE TABLE queue.job_dependencies (
    job_id bigint NOT NULL,
    depends_on bigint NOT NULL,
    on_failure text NOT NULL CHECK (on_failure IN ('fail', 'run')),
    outcome text CHECK (outcome IN ('succeeded', 'failed', 'cancelled', 'aborted')),
    resolved_at timestamptz,
    PRIMARY KEY (job_id, depends_on),
    CHECK (job_id <> depends_on)
);
COMMENT ON TABLE queue.job_dependencies IS
    'What a job waits for: one row per dependency, its failure policy, and its outcome once it ended.';
-- A finishing batch looks up the dependants of its jobs: only unresolved rows matter.
CREATE INDEX job_dependencies_unresolved_idx ON queue.job_dependencies (depends_on)
    WHERE outcome IS NULL;
GRANT SELECT ON queue.job_dependencies TO queue_reader;

CREATE TABLE queue.job_waits (
    job_id bigint PRIMARY KEY,
    remaining integer NOT NULL CHECK (remaining >= 0),
    run_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE queue.job_waits IS
    'A job held by its dependencies: how many are unresolved, and the run time it asked for.';
GRANT SELECT ON queue.job_waits TO queue_reader;

CREATE TABLE queue.batches (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    total integer NOT NULL CHECK (total >= 0),
    succeeded integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    cancelled integer NOT NULL DEFAULT 0,
    complete_job_id bigint,
    failure_job_id bigint,
    failure_released boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    -- Who may read it over HTTP: {"user_id": ..., "venue_id": ...} of its creator.
    owner jsonb NOT NULL DEFAULT '{}',
    -- A batch sent again under its key is the same batch: the key, the
    -- fingerprint of the request that made it, and its job per input index
    -- (what a replay answers).
    idempotency_key text UNIQUE CHECK (octet_length(idempotency_key) BETWEEN 1 AND 600),
    request_hash text,
    job_ids bigint[] NOT NULL DEFAULT '{}',
    CHECK (succeeded + failed + cancelled <= total)
);
COMMENT ON TABLE queue.batches IS
    'A group of jobs counted as they end, with the callback jobs released on completion and on the first failure.';
CREATE INDEX batches_finished_at_idx ON queue.batches (finished_at) WHERE finished_at IS NOT NULL;
-- explain_job finds the batch a held callback belongs to.
CREATE INDEX batches_complete_job_idx ON queue.batches (complete_job_id) WHERE complete_job_id IS NOT NULL;
CREATE INDEX batches_failure_job_idx ON queue.batches (failure_job_id) WHERE failure_job_id IS NOT NULL;
GRANT SELECT ON queue.batches TO queue_reader;

CREATE TABLE queue.batch_jobs (
    batch_id bigint NOT NULL REFERENCES queue.batches (id) ON DELETE CASCADE,
    job_id bigint NOT NULL,
    outcome text CHECK (outcome IN ('succeeded', 'failed', 'cancelled', 'aborted')),
    PRIMARY KEY (batch_id, job_id)
);
COMMENT ON TABLE queue.batch_jobs IS 'The jobs of a batch, with each one''s outcome once it ended.';
CREATE INDEX batch_jobs_unresolved_idx ON queue.batch_jobs (job_id) WHERE outcome IS NULL;
GRANT SELECT ON queue.batch_jobs TO queue_reader;

ALTER TABLE queue.queues
    ADD COLUMN key_concurrency integer
        CONSTRAINT queues_key_concurrency_check CHECK (key_concurrency BETWEEN 1 AND 10000);
COMMENT ON COLUMN queue.queues.key_concurrency IS
    'At most this many running jobs per concurrency key, across all processes; claims go round-robin between keys. NULL: no limit.';

ALTER TYPE queue.enqueue_row
    ADD ATTRIBUTE concurrency_key text,
    ADD ATTRIBUTE depends_on jsonb,
    ADD ATTRIBUTE unique_while text,
    ADD ATTRIBUTE on_duplicate text;
