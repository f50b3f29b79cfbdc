-- 0027_pre_priority_aging: a waiting job gains priority as it waits.
--
-- Intent: claims take the highest priority first, so a steady stream of
-- priority-8 jobs could keep a priority-2 job waiting forever. Each queue now
-- has priority_aging_s: a job due for that long gains one level, and one more
-- for each further period, up to 10 (queue.age_priorities, run by the
-- periodic task age-priorities). 0 turns aging off for the queue. The shipped
-- queues age every 300 s: a priority-1 job is claimed as a 10 after 45
-- minutes of waiting.
--
-- Lock impact: ADD COLUMN with a constant default on queue.queues (four rows).
-- Operator steps: none; set a queue's period with PATCH /queues/:name/config
-- {"priorityAgingS": ...} or UPDATE queue.queues.

ALTER TABLE queue.queues
    ADD COLUMN priority_aging_s integer NOT NULL DEFAULT 300
        CONSTRAINT queues_priority_aging_s_check CHECK (priority_aging_s BETWEEN 0 AND 86400);
COMMENT ON COLUMN queue.queues.priority_aging_s IS
    'A waiting job gains a priority level per this many seconds it has been due, up to 10; 0: no aging.';
