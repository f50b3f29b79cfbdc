-- name: find_stripe_origin :one
-- The job whose Stripe call answered with this object (a confirmation names its charge), among calls started near its creation.
-- The window keeps the ledger's started_at index in use: the call that made
-- an object started before Stripe created it, within the call's timeout
-- and the clocks' skew.
SELECT s.job_id, j.task_name AS job_type, j.status::text AS state,
       j.args -> 'data' AS data, j.args -> 'meta' AS meta
FROM queue.side_effects AS s
LEFT JOIN procrastinate_jobs AS j ON j.id = s.job_id
WHERE s.started_at >= %(created)s - make_interval(secs => %(window_s)s)
  AND s.started_at <= %(created)s + make_interval(secs => %(window_s)s)
  AND s.provider = 'stripe'
  AND s.status = 'succeeded'
  AND %(object_id)s::text IN (s.response ->> 'id', s.response ->> 'latest_charge')
ORDER BY s.started_at
LIMIT 1;
