-- 0009_pre_begin_provider_call_breaker: queue.begin_provider_call names the
-- breaker it used.
--
-- Intent: the breaker a call goes through (webhook:<host> for webhooks) is
-- now decided in SQL alone (queue.breaker_name, from the provider and the
-- call's subject, a new argument), so the gate returns its name for
-- queue.end_provider_call and the metrics. A new result column is a change
-- CREATE OR REPLACE cannot make: the old function is dropped here and
-- sql/functions/begin_provider_call.sql creates the new one in the same run.
--
-- Lock impact: none on tables. The drop and the new definition commit
-- together (migrate runs our files and the object files in one transaction),
-- so a running worker never finds the function missing.
-- Operator steps: none.

DROP FUNCTION IF EXISTS queue.begin_provider_call(text, text, bigint, text, text, text, double precision);
