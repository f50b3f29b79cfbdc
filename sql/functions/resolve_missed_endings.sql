-- Count the endings that dependants and batches missed, and return how many
-- jobs were counted. A dependency (or a batch's duplicate member) named in a
-- transaction that committed while its job ended in another one was not seen
-- by that ending: neither transaction saw the other's rows. The rescue task
-- runs this every period, so such a job is counted within one period. Its
-- cost follows the unresolved rows (two partial indexes), not the tables.
CREATE OR REPLACE FUNCTION queue.resolve_missed_endings()
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    ended_ids bigint[];
    ended_outcomes text[];
BEGIN
    SELECT array_agg(e.id), array_agg(e.outcome) INTO ended_ids, ended_outcomes
    FROM (
        SELECT t.id, coalesce(
                   CASE WHEN j.status IN ('succeeded', 'failed', 'cancelled', 'aborted') THEN j.status::text END,
                   CASE WHEN j.id IS NULL THEN (
                       SELECT o.status FROM queue.job_outcomes AS o
                       WHERE o.job_id = t.id AND o.status IN ('succeeded', 'failed', 'cancelled', 'aborted')
                       ORDER BY o.attempt DESC, o.id DESC LIMIT 1) END,
                   -- Gone without a final outcome (deleted by hand): cancelled.
                   CASE WHEN j.id IS NULL THEN 'cancelled' END) AS outcome
        FROM (
            SELECT DISTINCT d.depends_on AS id FROM queue.job_dependencies AS d WHERE d.outcome IS NULL
            UNION
            SELECT b.job_id FROM queue.batch_jobs AS b WHERE b.outcome IS NULL
        ) AS t
        LEFT JOIN procrastinate_jobs AS j ON j.id = t.id
    ) AS e
    WHERE e.outcome IS NOT NULL;
    IF ended_ids IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM queue.jobs_ended(ended_ids, ended_outcomes);
    RETURN cardinality(ended_ids);
END;
$$;
REVOKE ALL ON FUNCTION queue.resolve_missed_endings() FROM PUBLIC;
