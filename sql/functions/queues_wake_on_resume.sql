-- Pausing takes effect at the next fetch (queue.fetch_jobs reads the flag);
-- resuming must wake the workers that went idle meanwhile.
CREATE OR REPLACE FUNCTION queue.queues_wake_on_resume()
    RETURNS trigger
    LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM queue.wake_workers(NEW.name);
    RETURN NEW;
END;
$$;
