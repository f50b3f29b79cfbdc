-- 0019_pre_ordering_keys: jobs of one ordering key run one at a time, in order.
--
-- Intent: a job's ordering_key (given, or rendered from its type's
-- ordering_key_template; webhook-deliver's is per subscriber URL and stream)
-- becomes procrastinate's serial lock, which queue.fetch_jobs already honours
-- across processes: at most one job of a key runs, and the earliest waiting
-- one (at equal priority) goes next, retries and delays included.
-- queue.enqueue gains an ordering_key argument, a new signature: the old
-- function is dropped here and sql/functions/enqueue.sql creates the new one in
-- the same migrate transaction. queue.enqueue_row carries the key.
--
-- Lock impact: ADD COLUMN without a default and ALTER TYPE ADD ATTRIBUTE are
-- catalog changes; ACCESS EXCLUSIVE on queue.job_types for a moment.
-- Operator steps: none.

DROP FUNCTION IF EXISTS queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb, text);

ALTER TABLE queue.job_types
    ADD COLUMN ordering_key_template text,
    ADD CONSTRAINT job_types_ordering_key_template_check CHECK (
        ordering_key_template ~ '^([^{}]|\{[A-Za-z][A-Za-z0-9_]*(\|[A-Za-z][A-Za-z0-9_]*)*\})+$'
    );
COMMENT ON COLUMN queue.job_types.ordering_key_template IS
    'Renders the ordering key of a job that gives none (NULL when a field is missing: no ordering).';

ALTER TYPE queue.enqueue_row ADD ATTRIBUTE ordering_key text;
