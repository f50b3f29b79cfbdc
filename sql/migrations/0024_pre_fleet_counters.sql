-- 0024_pre_fleet_counters: the old counters of every process, summed in the database.
--
-- Intent: the old service's scrape config reads one path of the API
-- (/api/v1/queue/metrics/prometheus), and its dashboards read
-- job_results_total, job_processing_duration_seconds and alerts_sent_total
-- there. Those are counted by the process that did the work, most of them
-- workers. Every process (API and worker) adds what its counters rose by since
-- its last report, every few seconds, to these rows; the API's old path serves
-- their sums, so a scrape of the API alone sees the whole fleet. Deltas, not
-- totals: a process that restarts or was silent adds only what it counted
-- since, so the sums only rise, and rows are one per series, never per process.
--
-- Lock impact: a new table.
-- Operator steps: none.

CREATE TABLE queue.fleet_counters (
    sample text NOT NULL,  -- a sample's name: job_results_total, ..._bucket, ..._sum
    labels jsonb NOT NULL,
    value double precision NOT NULL,
    PRIMARY KEY (sample, labels)
);
