-- 0016_pre_ledger_resends: the ledger tells a resend from a retry.
--
-- Intent: queue.side_effects.calls counts every call of a step, ordinary
-- retries after a recorded failure included, so it could not say which calls
-- may have reached the provider twice. resends counts the calls made while
-- the step's previous call had no recorded answer (its row still 'started':
-- the worker died or the call was interrupted mid-flight). For a provider
-- without an idempotency key, resends > 0 is where a duplicate may be.
--
-- Lock impact: ADD COLUMN with a constant default is a catalog change (no
-- rewrite); ACCESS EXCLUSIVE on queue.side_effects for a moment.
-- Operator steps: none. Rows written before it read 0.

ALTER TABLE queue.side_effects ADD COLUMN resends integer NOT NULL DEFAULT 0;
COMMENT ON COLUMN queue.side_effects.resends IS
    'Calls made while the previous call of this step had no recorded answer (a crash or an interruption mid-call): possible duplicates where the provider takes no idempotency key.';
