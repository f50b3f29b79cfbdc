-- name: add_fleet_counts :exec
-- Add what one process's old counters rose by to the fleet's sums.
-- Sorted, so processes adding to the same rows lock them in one order.
INSERT INTO queue.fleet_counters AS fleet (sample, labels, value)
SELECT sample, labels, value
FROM unnest(%(samples)s::text[], %(labels)s::jsonb[], %(values)s::float8[])
    AS added (sample, labels, value)
ORDER BY sample, labels
ON CONFLICT (sample, labels) DO UPDATE SET value = fleet.value + excluded.value;

-- name: fleet_counts :many
-- The fleet's sums of the old counters, one row per series.
SELECT sample, labels, value FROM queue.fleet_counters ORDER BY sample, labels;
