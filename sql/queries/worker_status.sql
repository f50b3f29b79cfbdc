-- name: list_worker_lanes :many
-- Up to `limit` registered workers (one per lane of a live process), oldest first, with the queues each serves, its heartbeat's age, whether it stalled and how many jobs it runs.
-- Stalled as the rescue decides (queue.worker_stalled: silent for stalled_after_s while the
-- database was up), with the database's clock, so the flag and the rescue agree. Workers are
-- few: the prune deletes stalled rows. Queues by worker_queues_pkey; the running count reads
-- idx_procrastinate_jobs_worker_not_null for one worker, at most what its lane claimed.
SELECT w.id, w.last_heartbeat,
       extract(epoch FROM now() - w.last_heartbeat)::float8 AS heartbeat_age_s,
       queue.worker_stalled(w.last_heartbeat, %(stalled_after_s)s::float8) AS stalled,
       coalesce(
           (SELECT array_agg(q.queue_name ORDER BY q.queue_name)
            FROM queue.worker_queues AS q WHERE q.worker_id = w.id),
           '{}'
       ) AS queues,
       (SELECT count(*) FROM procrastinate_jobs AS j
        WHERE j.worker_id = w.id AND j.status = 'doing') AS running
FROM procrastinate_workers AS w
ORDER BY w.id
LIMIT %(limit)s;

-- name: running_jobs_of_workers :many
-- Up to `per_worker` jobs that each of these workers runs now, oldest claim first, with their start marks (NULL: claimed, not started yet) and reported progress.
-- idx_procrastinate_jobs_worker_not_null per worker (its predicate is this WHERE), then
-- job_starts_pkey and job_progress_pkey per job: the cost follows the workers and their claims, not the table.
SELECT w.id AS worker_id, j.id, j.task_name AS job_type, s.started_at,
       p.percent AS progress_percent, p.message AS progress_message
FROM unnest(%(worker_ids)s::bigint[]) AS w(id)
CROSS JOIN LATERAL (
    SELECT r.id, r.task_name
    FROM procrastinate_jobs AS r
    WHERE r.worker_id = w.id AND r.status = 'doing'
    ORDER BY r.id
    LIMIT %(per_worker)s
) AS j
LEFT JOIN queue.job_starts AS s ON s.job_id = j.id
LEFT JOIN queue.job_progress AS p ON p.job_id = j.id
ORDER BY w.id, j.id;
