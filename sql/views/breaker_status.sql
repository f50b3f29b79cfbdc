-- psql: each breaker with how long until it lets a call through.
CREATE OR REPLACE VIEW queue.breaker_status AS
SELECT b.provider, b.state, b.failures, b.failure_threshold, b.open_s, b.opened_at,
       b.retry_at, greatest(0, extract(epoch FROM b.retry_at - now())) AS retry_in_s,
       b.last_error, b.updated_at
FROM queue.circuit_breakers AS b;
GRANT SELECT ON queue.breaker_status TO queue_reader;
