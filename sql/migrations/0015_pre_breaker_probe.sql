-- 0015_pre_breaker_probe: a half-open breaker knows its probe.
--
-- Intent: only the probe's answer may close or reopen a half-open breaker.
-- Calls that were already out when the breaker opened still answer during
-- the open and half-open states; their failures said nothing new and used
-- to count again (16 to 31 failures for a threshold of 5) and to reopen a
-- breaker whose probe was still out. queue.begin_provider_call records the
-- probe's ledger key here and queue.end_provider_call compares it.
--
-- Lock impact: ADD COLUMN without a default is a catalog change; it takes an
-- ACCESS EXCLUSIVE lock on queue.circuit_breakers for a moment (provider
-- calls wait for the migrate transaction to commit).
-- Operator steps: none.

ALTER TABLE queue.circuit_breakers ADD COLUMN probe_key text;
COMMENT ON COLUMN queue.circuit_breakers.probe_key IS
    'Ledger key of the call probing a half-open breaker; only its answer moves the breaker.';
