-- Keep next_run_at honest when a row is edited in SQL: a disabled schedule has
-- no next run, and one enabled or given a new cron gets its next run computed
-- again by the task (from updated_at), unless the statement set next_run_at
-- itself, as the service does. updated_at moves only when the definition
-- changes, not when the task advances the row.
CREATE OR REPLACE FUNCTION queue.schedules_before_update()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    IF (NEW.cron, NEW.queue, NEW.job_type, NEW.data, NEW.priority, NEW.active)
       IS DISTINCT FROM (OLD.cron, OLD.queue, OLD.job_type, OLD.data, OLD.priority, OLD.active)
    THEN
        NEW.updated_at := now();
    END IF;
    IF NOT NEW.active THEN
        NEW.next_run_at := NULL;
    ELSIF (NOT OLD.active OR NEW.cron IS DISTINCT FROM OLD.cron)
          AND NEW.next_run_at IS NOT DISTINCT FROM OLD.next_run_at
    THEN
        NEW.next_run_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;
