CREATE OR REPLACE TRIGGER queues_wake_on_resume
    AFTER UPDATE OF paused ON queue.queues
    FOR EACH ROW WHEN (OLD.paused AND NOT NEW.paused)
    EXECUTE FUNCTION queue.queues_wake_on_resume();
