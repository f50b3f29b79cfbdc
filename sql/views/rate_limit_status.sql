-- Tokens never show below zero while a Retry-After hold lasts (the bucket
-- refills from the end of the hold). The provider's breaker (the group's,
-- for a bucket in a group) is shown beside its bucket.
CREATE OR REPLACE VIEW queue.rate_limit_status AS
SELECT
    r.name,
    r.group_name,
    r.rate_per_s,
    r.burst,
    r.max_concurrent,
    r.cooldown_s,
    r.paused,
    greatest(0, queue.bucket_tokens(r, now())) AS tokens,
    r.hold_until,
    (SELECT count(*) FROM queue.rate_limit_leases AS l
     WHERE l.bucket = r.name AND l.expires_at > now()) AS active_leases,
    r.updated_at,
    b.state AS breaker_state,
    b.retry_at AS breaker_retry_at,
    queue.bucket_rate(r, now()) AS effective_rate_per_s
FROM queue.rate_limits AS r
LEFT JOIN queue.circuit_breakers AS b ON b.provider = coalesce(r.group_name, r.name);
GRANT SELECT ON queue.rate_limit_status TO queue_reader;
