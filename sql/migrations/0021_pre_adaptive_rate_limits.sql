-- 0021_pre_adaptive_rate_limits: the rest of the old rate-limit table, and
-- buckets that slow down when a provider says so.
--
-- Intent: the old service's table listed Square, QuickBooks, twilio-verify
-- and a concurrency limit for internal calls, and a cooldown per provider;
-- they are seeded here (rows an operator already has are left alone). A
-- bucket's rate is now adaptive: a 429 or a Retry-After halves its rate_factor
-- (never below 0.1) for it and its group, and the factor climbs back to 1
-- over recover_s (60 s) unless the provider answers 429 again. The state is
-- the row's, so every worker process slows down together.
-- queue.bucket_rate is the effective rate; the refill formula
-- (queue.bucket_tokens) and the gate's waits read it.
--
-- Lock impact: ADD COLUMN with constant defaults is a catalog change (no
-- rewrite); a moment of ACCESS EXCLUSIVE on queue.rate_limits. The refill
-- formula and the status view are dropped and made again in the same
-- transaction, so no process sees them missing.
-- Operator steps: none.

-- A function over the table's row type blocks ALTER TABLE: drop it, and what
-- reads it (the status view), CASCADE; the object files define them again in
-- the same migrate transaction.
DROP FUNCTION IF EXISTS queue.bucket_tokens(queue.rate_limits, timestamptz) CASCADE;

ALTER TABLE queue.rate_limits
    ADD COLUMN rate_factor double precision NOT NULL DEFAULT 1,
    ADD COLUMN slowed_at timestamptz,
    ADD COLUMN recover_s double precision NOT NULL DEFAULT 60,
    ADD CONSTRAINT rate_limits_adaptive_check
        CHECK (rate_factor >= 0.1 AND rate_factor <= 1 AND recover_s > 0);
COMMENT ON COLUMN queue.rate_limits.rate_factor IS
    'Fraction of rate_per_s the bucket was slowed to at slowed_at (a 429 halves it); it recovers to 1 over recover_s.';

INSERT INTO queue.rate_limits (name, group_name, rate_per_s, burst, max_concurrent, cooldown_s, tokens) VALUES
    ('square', NULL, 8, 20, 5, 2, 20),
    ('quickbooks', NULL, 2, 10, 3, 3, 10),
    ('twilio-verify', 'twilio', 1, 10, 5, 5, 10)
ON CONFLICT (name) DO NOTHING;

-- The old table's cooldowns (solana's for the minting service) and internal
-- calls' concurrency, where the rows still have the seeds' values.
UPDATE queue.rate_limits AS r
SET cooldown_s = c.cooldown_s, updated_at = now()
FROM (VALUES ('stripe', 1), ('sendgrid', 1), ('twilio', 5), ('twilio-sms', 5),
             ('twilio-voice', 5), ('minting', 1), ('internal', 0.1)) AS c(name, cooldown_s)
WHERE r.name = c.name AND r.cooldown_s = 0;
UPDATE queue.rate_limits SET max_concurrent = 50, updated_at = now()
WHERE name = 'internal' AND max_concurrent IS NULL;

INSERT INTO queue.circuit_breakers (provider) VALUES ('square'), ('quickbooks')
ON CONFLICT (provider) DO NOTHING;
