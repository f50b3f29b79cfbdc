-- 0023_pre_payload_rules: SQL producers get the payload checks HTTP callers get.
--
-- Intent: queue.enqueue accepted any JSON object for a catalogued type, so a
-- payload the worker would refuse was found out only after the producer had
-- committed. The catalogue's payload models are now written, field by field,
-- into queue.payload_fields by migrate (as the job types' rows are), and
-- queue.enqueue_jobs refuses a job whose data breaks one (QS004, naming the
-- field) inside the caller's transaction. payload_one_of holds the rules over
-- several fields (a seat or a ticket). Types added in SQL have no rows: the
-- database checks only their data's shape, as before.
--
-- queue.enqueue_jobs gains check_payloads (off only for the service's own
-- Python path, queue.enqueue_many_checked, which checked with the models):
-- the old signature is dropped here and its object file makes the new one.
--
-- Lock impact: a new table, and ADD COLUMN without a default on
-- queue.job_types (a moment of ACCESS EXCLUSIVE).
-- Operator steps: none; producers that enqueued payloads the workers failed
-- now get the error at enqueue.

DROP FUNCTION IF EXISTS queue.enqueue_jobs(jsonb, boolean);

CREATE TABLE queue.payload_fields (
    job_type text NOT NULL,
    position integer NOT NULL,
    field text NOT NULL,
    aliases text[] NOT NULL DEFAULT '{}',
    required boolean NOT NULL,
    nullable boolean NOT NULL,
    kind text NOT NULL,
    min_length integer,
    max_length integer,
    pattern text,
    minimum numeric,
    maximum numeric,
    exclusive_minimum numeric,
    exclusive_maximum numeric,
    choices text[],
    choices_any_case boolean NOT NULL DEFAULT false,
    is_timestamp boolean NOT NULL DEFAULT false,
    CONSTRAINT payload_fields_pkey PRIMARY KEY (job_type, field),
    CONSTRAINT payload_fields_job_type_fkey FOREIGN KEY (job_type) REFERENCES queue.job_types (name)
        ON UPDATE CASCADE ON DELETE CASCADE,
    CONSTRAINT payload_fields_kind_check
        CHECK (kind IN ('string', 'integer', 'number', 'boolean', 'object', 'array', 'any'))
);
COMMENT ON TABLE queue.payload_fields IS
    'The payload model of each catalogued job type, field by field (written by migrate): what queue.enqueue checks in data.';
COMMENT ON COLUMN queue.payload_fields.aliases IS
    'Other keys read as this field when it is absent (the old service''s names), in order.';

ALTER TABLE queue.job_types ADD COLUMN payload_one_of jsonb;
COMMENT ON COLUMN queue.job_types.payload_one_of IS
    'Groups of data fields of which one group must be present in full: [["seatId"], ["ticketId"]].';
