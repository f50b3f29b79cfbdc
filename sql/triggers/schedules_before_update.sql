CREATE OR REPLACE TRIGGER schedules_before_update
    BEFORE UPDATE ON queue.schedules
    FOR EACH ROW EXECUTE FUNCTION queue.schedules_before_update();
