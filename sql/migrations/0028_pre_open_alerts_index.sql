-- 0028_pre_open_alerts_index: the unacknowledged alerts, newest first, by an index.
--
-- Intent: the console's alerts page and GET /alerts?open read the newest
-- alerts nobody acknowledged. Without an index saying "open" the planner read
-- the alerts of the last 7 days whole when few were open (9 ms at 50,000
-- alerts, 27 ms at 200,000): a cost that grew with the table, not the page.
-- A partial index holds only the open ones, which acknowledging removes.
--
-- Lock impact: CREATE INDEX on queue.alert_history (small; written by the
-- monitor, whose cooldowns bound it) takes a SHARE lock for its build.
-- Operator steps: none.

CREATE INDEX alert_history_open_idx ON queue.alert_history (created_at DESC, id DESC)
    WHERE acknowledged_at IS NULL;
