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
-- Lock impact: none on tables. Between this file and the object files (the
-- same migrate run, milliseconds) a provider call of a running worker fails
-- with "function does not exist" and is retried as any failure; the ledger
-- keeps it from running twice.
-- Operator steps: none.

DROP FUNCTION IF EXISTS queue.begin_provider_call(text, text, bigint, text, text, text, double precision);
