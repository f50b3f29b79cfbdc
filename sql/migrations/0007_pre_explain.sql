-- 0007_pre_explain: why a job is not running.
--
-- The functions, views and triggers this file introduced have their current
-- text under sql/functions, sql/views and sql/triggers; it keeps tables, types,
-- indexes and seed rows.
--
-- Intent: `queue.explain_job(id)` names what holds a job back, one row per
-- reason, in plain words and with typed fields: scheduled for later, its queue
-- paused, its serial lock held by another job, its rate-limit bucket stopped,
-- held, out of tokens or at its concurrency, its provider's circuit breaker
-- open, no worker serving its queue, or where it stands in line; for a job
-- that runs or has finished, where it runs or how it ended. The rate-limit
-- bucket of each job type moves into the database (`queue.job_types.bucket`,
-- beside `provider`, which names its circuit breaker), so SQL can answer
-- without the worker's code.
--
-- Lock impact: ALTER TABLE queue.job_types ADD COLUMN (nullable, no default:
-- metadata only) plus a foreign key to queue.rate_limits, validated at once:
-- SHARE ROW EXCLUSIVE on two tables of a dozen rows, for milliseconds.
-- Operator steps: none. The "no worker" reason reads queue.worker_queues
-- (0008), which each worker fills with its first claim; plpgsql resolves it
-- when the function runs.

-- The bucket a job type's provider calls draw from (the worker's
-- `calls.call(bucket=...)`; a test keeps the two equal). NULL: no provider call.
ALTER TABLE queue.job_types
    ADD COLUMN bucket text,
    ADD CONSTRAINT job_types_bucket_fkey FOREIGN KEY (bucket) REFERENCES queue.rate_limits (name)
        ON UPDATE CASCADE;
COMMENT ON COLUMN queue.job_types.bucket IS
    'Rate-limit bucket (queue.rate_limits) its provider calls draw from; provider names its circuit breaker.';
UPDATE queue.job_types AS t
SET bucket = m.bucket
FROM (VALUES
    ('payment-process', 'stripe'),
    ('refund-process', 'stripe'),
    ('payout-process', 'stripe'),
    ('nft-mint', 'minting'),
    ('send-email', 'sendgrid'),
    ('send-sms', 'twilio-sms'),
    ('send-push', 'internal'),
    ('webhook-deliver', 'internal')
) AS m(job_type, bucket)
WHERE t.name = m.job_type;

ANALYZE queue.job_types;
