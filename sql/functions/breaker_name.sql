-- The circuit breaker that a call to `provider` about `subject` goes
-- through: the provider's own, except that webhooks get one per subscriber
-- host (webhook:<host> of the subject URL, made on first use), so that one
-- failing subscriber does not hold back the others. A name that already
-- names a member (family:member) is kept. The one place this rule is
-- written: the gate (queue.begin_provider_call) and queue.explain_job ask it.
CREATE OR REPLACE FUNCTION queue.breaker_name(provider text, subject text)
    RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN provider = 'webhook' THEN coalesce(
        'webhook:' || nullif(lower(substring(
            subject FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^]]*\]|[^:/?#]*)')), ''),
        'webhook')
    ELSE provider
END;
REVOKE ALL ON FUNCTION queue.breaker_name(text, text) FROM PUBLIC;
