-- 0018_pre_key_scopes: idempotency keys belong to their caller.
--
-- Intent: a job's key (given, or rendered from its type's template) may be
-- put in its caller's own space with key_scope, stored as '@<scope>:<key>';
-- the HTTP API scopes every key to the token's subject, so another caller's
-- key neither returns their job nor blocks their request. queue.enqueue gains
-- a key_scope argument, a new signature CREATE OR REPLACE cannot make: the old
-- function is dropped here and sql/functions/enqueue.sql creates the new one
-- in the same migrate transaction, so no producer finds it missing. A key as
-- given stays at most 512 bytes; with its scope a stored key may be 578.
--
-- Lock impact: the constraint is dropped and added NOT VALID (a moment of
-- ACCESS EXCLUSIVE on queue.idempotency_keys, no scan), then validated under
-- SHARE UPDATE EXCLUSIVE, which lets enqueues go on.
-- Operator steps: none. Existing keys stay unscoped: a replay of an HTTP
-- request made before this migration creates a new job under its scoped key.

DROP FUNCTION IF EXISTS queue.enqueue(text, text, jsonb, integer, timestamptz, text, jsonb);

ALTER TABLE queue.idempotency_keys DROP CONSTRAINT idempotency_keys_key_check;
ALTER TABLE queue.idempotency_keys ADD CONSTRAINT idempotency_keys_key_check
    CHECK (octet_length(key) BETWEEN 1 AND 600) NOT VALID;
ALTER TABLE queue.idempotency_keys VALIDATE CONSTRAINT idempotency_keys_key_check;
