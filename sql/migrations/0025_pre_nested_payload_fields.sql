-- 0025_pre_nested_payload_fields: the fields of a nested payload model are checked too.
--
-- Intent: a field that is itself a model (stripe-event's `object`) was checked
-- on enqueue only for being an object; what it must hold was found out when
-- the job ran. Its fields now get rows of their own, with `parent` naming the
-- top-level field they are read in, and are checked when that field is an
-- object. Rows are keyed by position: one type may have `object` at the top
-- and `object` inside `object`.
--
-- The functions over the table's row type block ALTER TABLE: they are dropped
-- here (CASCADE) and their object files make them again, reading `parent`.
--
-- Lock impact: ACCESS EXCLUSIVE on queue.payload_fields (a few hundred rows)
-- for the column and the keys.
-- Operator steps: none; migrate writes the nested rows.

DROP FUNCTION IF EXISTS queue.payload_field_value(queue.payload_fields, jsonb) CASCADE;
DROP FUNCTION IF EXISTS queue.payload_field_problem(queue.payload_fields, jsonb) CASCADE;

ALTER TABLE queue.payload_fields ADD COLUMN parent text;
COMMENT ON COLUMN queue.payload_fields.parent IS
    'The top-level field this one is read in (a nested model''s field); NULL at the top level.';
ALTER TABLE queue.payload_fields DROP CONSTRAINT payload_fields_pkey;
ALTER TABLE queue.payload_fields ADD CONSTRAINT payload_fields_pkey PRIMARY KEY (job_type, position);
ALTER TABLE queue.payload_fields ADD CONSTRAINT payload_fields_field_key
    UNIQUE NULLS NOT DISTINCT (job_type, parent, field);
