-- 0010_pre_enqueue_row_failed_check: a refused job carries the check it
-- failed, not its message.
--
-- Intent: queue.enqueue_jobs names the first check a job fails in one CASE;
-- queue.enqueue_problem turns that name into the SQLSTATE and the message, for
-- the one job reported. The type of enqueue_jobs' batch rows follows: its
-- error_code becomes failed_check and error_message goes.
--
-- Lock impact: none on tables; the type is used by no table. The change and
-- the new queue.enqueue_jobs commit together (one migrate transaction).
-- Operator steps: none.

ALTER TYPE queue.enqueue_row RENAME ATTRIBUTE error_code TO failed_check;
ALTER TYPE queue.enqueue_row DROP ATTRIBUTE error_message;
