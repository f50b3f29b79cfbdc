-- The rolled hours inside a window starting at since: [first_hour, end_time),
-- or NULLs when none is. Outside it, reports read the raw tables.
CREATE OR REPLACE FUNCTION queue.rolled_window(since timestamptz)
    RETURNS TABLE (first_hour timestamptz, end_time timestamptz)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT min(r.hour), max(r.hour) + interval '1 hour'
    FROM queue.rolled_up_hours AS r
    WHERE r.hour >= since;
END;
